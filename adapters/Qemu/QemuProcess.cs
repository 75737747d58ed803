using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using VirtioMq.Adapters.Devices;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// One QEMU process: its CPU halts at once (<see cref="HaltingFirmware"/>), the suite plays the guest over qtest, and guest RAM is a memfd of the suite's that QEMU opens through /proc, so no file is ever left in
/// /dev/shm. With the tap data path QEMU runs in a network namespace of its own, which the kernel removes with it.
/// QEMU dies with the suite (see <see cref="ParentBoundLauncher"/>); nothing it made outlives it.
/// </summary>
public sealed class QemuProcess : IDisposable
{
    /// <summary>Where tests of the suite find what a session made, to show that nothing is left.</summary>
    public const string SocketPrefix = "vmq-qtest-";

    private static int _sessions;
    private readonly Process _process;
    private readonly StderrLines _stderr;

    private readonly SharedMemoryRegion _firmware;

    private QemuProcess(Process process, StderrLines stderr, QtestConnection qtest, SharedMemoryRegion ram, SharedMemoryRegion firmware)
    {
        _firmware = firmware;
        _process = process;
        _stderr = stderr;
        Qtest = qtest;
        Ram = ram;
    }

    public QtestConnection Qtest { get; }

    /// <summary>Guest RAM from guest-physical 0, as the suite maps it.</summary>
    public SharedMemoryRegion Ram { get; }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    /// <summary>Whether <paramref name="e"/> is what talking to a QEMU that is going away looks like: a refused or missing answer, a broken socket.</summary>
    public static bool IsLostLink(Exception e) => e is DeviceProtocolException or IOException or SocketException;

    /// <summary>QEMU's exit code, once it has exited (-1 while it runs).</summary>
    public int ExitCode
    {
        get
        {
            if (!_process.WaitForExit(2000)) return -1;
            _process.WaitForExit(); // and its stderr read to the end
            return _process.ExitCode;
        }
    }

    /// <summary>What QEMU last wrote to stderr (warnings, the reason it stopped).</summary>
    public string StderrTail => _stderr.Text;

    /// <summary>Starts QEMU with the device of <paramref name="options"/> at PCI slot <paramref name="slot"/> and waits for its qtest connection.</summary>
    public static QemuProcess Start(QemuOptions options, QemuInstallation qemu, int slot)
    {
        var n = Interlocked.Increment(ref _sessions);
        var socketPath = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"{SocketPrefix}{Environment.ProcessId}-{n}.sock"));
        var ram = SharedMemoryRegion.CreateMemfd("virtio-mq-qemu-ram", (long)options.MemoryMiB << 20);
        var firmware = HaltingFirmware.Create();
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Process? process = null;
        try
        {
            File.Delete(socketPath);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(1);
            var start = new ProcessStartInfo(qemu.Binary) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in Arguments(options, qemu, slot, socketPath, ram, firmware)) start.ArgumentList.Add(a);
            if (options.Netdev == QemuNetdev.Tap) start = TapNamespace.Wrap(start, options.Pairs);
            process = ParentBoundLauncher.Start(start);
            var stderr = new StderrLines(process);
            var qtest = Accept(listener, process, stderr, options, qemu);
            return new QemuProcess(process, stderr, qtest, ram, firmware);
        }
        catch
        {
            Kill(process);
            ram.Dispose();
            firmware.Dispose();
            throw;
        }
        finally
        {
            File.Delete(socketPath);
        }
    }

    private static IEnumerable<string> Arguments(QemuOptions options, QemuInstallation qemu, int slot, string socketPath, SharedMemoryRegion ram, SharedMemoryRegion firmware)
    {
        var self = Environment.ProcessId;
        string[] head =
        [
            "-machine", "q35,memory-backend=ram", "-qtest", $"unix:{socketPath}", "-qtest-log", "/dev/null",
            "-display", "none", "-nodefaults", "-no-user-config", "-m", $"{options.MemoryMiB}M",
            // The suite's own memfd, opened by QEMU through /proc: shared, so the suite sees the rings as QEMU does.
            "-object", $"memory-backend-file,id=ram,size={options.MemoryMiB}M,mem-path=/proc/{self}/fd/{ram.Fd},share=on",
            "-bios", $"/proc/{self}/fd/{firmware.Fd}",
            "-device", options.DeviceArgument(slot),
        ];
        foreach (var a in head) yield return a;
        foreach (var dir in qemu.DataDirs.Concat(options.DataDirs))
        {
            yield return "-L";
            yield return dir;
        }
        var queues = options.Pairs.ToString(CultureInfo.InvariantCulture);
        if (options.Netdev == QemuNetdev.Tap)
        {
            yield return "-netdev";
            yield return $"tap,id=n0,ifname={TapNamespace.Interface},queues={queues},script=no,downscript=no,vhost=off";
        }
        else
        {
            yield return "-chardev";
            yield return $"socket,id=c0,path={options.Socket}";
            yield return "-netdev";
            yield return $"vhost-user,id=n0,chardev=c0,queues={queues}";
        }
    }

    private static QtestConnection Accept(Socket listener, Process process, StderrLines stderr, QemuOptions options, QemuInstallation qemu)
    {
        var accept = listener.AcceptAsync();
        var clock = Stopwatch.StartNew();
        while (!accept.Wait(TimeSpan.FromMilliseconds(20)))
        {
            if (process.HasExited)
            {
                process.WaitForExit();
                throw new QemuStartException(QemuStartException.Explain(stderr.Text, process.ExitCode, options, qemu));
            }
            if (clock.Elapsed > options.StartTimeout)
                throw new DeviceTimeoutException($"{qemu.Binary} ({qemu.Version}) to connect to the qtest socket (start-timeout-ms); its stderr: {stderr.Text}", options.StartTimeout);
        }
        return QtestConnection.Wrap(accept.Result, options.Timeout);
    }

    private static void Kill(Process? process)
    {
        if (process is null) return;
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // It had already gone.
        }
        process.Dispose();
    }

    public void Dispose()
    {
        Qtest.Dispose();
        Kill(_process);
        Ram.Dispose();
        _firmware.Dispose();
    }

    /// <summary>The last lines QEMU wrote to stderr, kept as they come so a failed start can say why.</summary>
    private sealed class StderrLines
    {
        private readonly Queue<string> _lines = new();
        private readonly Lock _lock = new();

        public StderrLines(Process process)
        {
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (_lock)
                {
                    _lines.Enqueue(e.Data);
                    while (_lines.Count > 20) _lines.Dequeue();
                }
            };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
        }

        public string Text
        {
            get
            {
                lock (_lock) return _lines.Count == 0 ? "(nothing)" : string.Join(" | ", _lines);
            }
        }
    }
}
