using System.Diagnostics;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Adapters.Qemu;

namespace VirtioMq.Tests.Adapters;

/// <summary>
/// The qemu:// adapter against a real QEMU: a session drives QEMU's own device and leaves nothing behind (no process,
/// socket, shared-memory file or namespace), also when the suite is killed; and every kind of bad start or death is one
/// clear error instead of a hang.
/// </summary>
[TestFixture, NonParallelizable, Category("qemu")]
public sealed class QemuDeviceTests
{
    private const string Qemu = "/usr/bin/qemu-system-x86_64";

    [OneTimeSetUp]
    public void NeedQemu()
    {
        if (!File.Exists(Qemu)) Assert.Ignore($"{Qemu} is not installed (tests/peers/qemu-versions.sh install 7.2)");
        if (!Environment.IsPrivilegedProcess) Assert.Ignore("the tap data path needs root (a network namespace and a multi-queue tap)");
    }

    [TearDown]
    public void StopIdle() => QemuDevice.StopIdleMachines();

    private static QemuDevice Open(string query) => new(DeviceUri.Parse($"qemu://{Qemu}?{query}"));

    [Test]
    public void A_session_loops_frames_through_QEMU_and_leaves_nothing_behind()
    {
        var shmBefore = Directory.GetFiles("/dev/shm").ToHashSet();
        int pid;
        using (var device = Open("pairs=2&reuse=0"))
        {
            pid = device.Pid;
            var driver = new NetDriver(device);
            driver.Initialize(pairs: 2);
            Assert.That(driver.VqPairsSet(2), Is.EqualTo(VirtioMq.Spec.NetAck.Ok), "QEMU's device model answers VQ_PAIRS_SET");
            Assert.That(driver.SendAndLocate(2, flow: 1, TimeSpan.FromSeconds(5)), Is.Not.Null, "a frame on transmitq2 comes back through the looped-back tap");
            Assert.That(ProcessAlive(pid), Is.True);
        }
        Assert.That(WaitGone(pid), Is.True, $"QEMU (pid {pid}) is gone once the session is disposed");
        Assert.That(Directory.GetFiles(Path.GetTempPath(), $"{QemuProcess.SocketPrefix}{Environment.ProcessId}-*"), Is.Empty, "no qtest socket is left");
        Assert.That(Directory.GetFiles("/dev/shm").Where(f => !shmBefore.Contains(f)), Is.Empty, "no shared-memory file is left (guest RAM is a memfd)");
    }

    [Test]
    public void A_finished_session_leaves_its_QEMU_reset_for_the_next_one_with_the_same_URI()
    {
        int first;
        using (var device = Open("pairs=2"))
        {
            first = device.Pid;
            new NetDriver(device).Initialize(pairs: 2);
        }
        using (var again = Open("pairs=2"))
        {
            Assert.That(again.Pid, Is.EqualTo(first), "the same QEMU serves the next session");
            Assert.That(again.ReadStatus(), Is.EqualTo(VirtioMq.Spec.DeviceStatus.None), "and it starts reset");
        }
        QemuDevice.StopIdleMachines();
        Assert.That(WaitGone(first), Is.True, "stopping the idle machines stops QEMU");
    }

    [Test]
    public void QEMU_dies_with_a_suite_killed_by_SIGKILL()
    {
        // A conformance run against QEMU, killed with SIGKILL once its QEMU is up: the kernel's parent-death signal
        // must take QEMU (and with it the tap namespace) down, since nothing of the suite runs any more to do it.
        var conformance = Path.Combine(RepositoryRoot.Path, "conformance");
        var start = new ProcessStartInfo("dotnet", ["test", conformance, "--no-build", "--filter", "FullyQualifiedName~Random_command_sequences_match_the_model"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["VIRTIO_DEVICE"] = $"qemu://{Qemu}?pairs=2&reuse=0";
        start.Environment["VIRTIO_REPORT_DIR"] = Path.Combine(Path.GetTempPath(), $"vmq-kill-test-{Environment.ProcessId}");
        using var run = Process.Start(start)!;
        try
        {
            var qemu = WaitFor(() => QemuOf(run.Id), TimeSpan.FromSeconds(60));
            Assert.That(qemu, Is.Not.Null, "the run started a QEMU within 60 s");
            var host = ParentOf(qemu!.Value);
            Assert.That(host, Is.Not.Null.And.Not.EqualTo(0));
            Process.GetProcessById(host!.Value).Kill(); // SIGKILL: no handler of the suite runs
            Assert.That(WaitGone(qemu.Value), Is.True, $"QEMU (pid {qemu}) died with the test host (pid {host}) that started it");
        }
        finally
        {
            if (!run.HasExited) run.Kill(entireProcessTree: true);
            run.WaitForExit(10000);
        }
    }

    [Test]
    public void A_property_QEMU_does_not_know_is_one_line_naming_the_help_command()
    {
        var e = Assert.Throws<QemuStartException>(() => Open("pairs=1&no-such-property=on").Dispose());
        Assert.That(e!.Message, Does.Contain("does not know a device property").And.Contain("-device virtio-net-pci,help"));
    }

    [Test]
    public void A_missing_QEMU_says_how_to_install_one() =>
        Assert.That(() => new QemuDevice(DeviceUri.Parse("qemu:///nonexistent/qemu-system-x86_64?pairs=1")),
            Throws.TypeOf<FileNotFoundException>().With.Message.Contains("qemu-versions.sh install"));

    [Test]
    public void A_QEMU_older_than_5_0_is_refused_with_its_version()
    {
        // A stand-in that answers -version as QEMU 4.2 did: guest RAM as a shared memory backend needs 5.0.
        var old = Path.Combine(Path.GetTempPath(), $"vmq-old-qemu-{Environment.ProcessId}");
        File.WriteAllText(old, "#!/bin/sh\necho 'QEMU emulator version 4.2.1 (Debian 1:4.2-3)'\n");
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(old, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        try
        {
            Assert.That(() => new QemuDevice(DeviceUri.Parse($"qemu://{old}?pairs=1")),
                Throws.TypeOf<NotSupportedException>().With.Message.Contains("4.2.1").And.Message.Contains("5.0 or later"));
        }
        finally
        {
            File.Delete(old);
        }
    }

    [Test]
    public void Vhost_user_without_a_socket_or_a_back_end_says_what_to_start()
    {
        Assert.That(() => Open("netdev=vhost-user"), Throws.TypeOf<FormatException>().With.Message.Contains("socket="));
        var nowhere = Path.Combine(Path.GetTempPath(), $"vmq-no-back-end-{Environment.ProcessId}.sock");
        Assert.That(() => Open($"netdev=vhost-user&socket={nowhere}&vectors=0").Dispose(),
            Throws.TypeOf<QemuStartException>().With.Message.Contains("no vhost-user back-end answered"));
    }

    [Test]
    public void QEMU_dying_mid_session_is_reported_as_such()
    {
        using var device = Open("pairs=1&reuse=0");
        new NetDriver(device).Initialize(pairs: 1);
        Process.GetProcessById(device.Pid).Kill();
        Assert.That(() => device.ReadStatus(), Throws.TypeOf<QemuDiedException>().With.Message.Contains("exited during the session"));
    }

    private static bool ProcessAlive(int pid) => File.Exists($"/proc/{pid}/status") && !File.ReadAllText($"/proc/{pid}/status").Contains("State:\tZ", StringComparison.Ordinal);

    private static bool WaitGone(int pid) => WaitFor(() => ProcessAlive(pid) ? (int?)null : 0, TimeSpan.FromSeconds(10)) is not null;

    private static int? WaitFor(Func<int?> probe, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (probe() is { } found) return found;
            Thread.Sleep(100);
        }
        return null;
    }

    /// <summary>A QEMU started by a descendant of <paramref name="root"/> (the test host under dotnet test).</summary>
    private static int? QemuOf(int root)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
            }
            catch (IOException)
            {
                continue;
            }
            if (!cmdline.Contains("qemu-system", StringComparison.Ordinal) || !cmdline.Contains(QemuProcess.SocketPrefix, StringComparison.Ordinal)) continue;
            for (var p = ParentOf(pid); p is > 1; p = ParentOf(p.Value))
                if (p == root) return pid;
        }
        return null;
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            var line = File.ReadAllLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal));
            return line is null ? null : int.Parse(line[5..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
