using System.Globalization;
using System.Text.RegularExpressions;
using VirtioMq.Conformance.DriverRuns;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Spec;
using VirtioMq.Spec.Recording;

namespace VirtioMq.Tests.Interop;

/// <summary>
/// The Linux kernel's own virtio_net driver against the reference back-end: QEMU boots a Debian kernel whose
/// virtio-net-pci NIC (mq=on, 4 queue pairs, 4 vCPUs) is served over vhost-user by `serve --record-driver`
/// (tests/peers/linux-guest.sh; the guest's script is tests/peers/linux-guest-init.sh). The guest runs ethtool -l,
/// ethtool -L eth0 combined 1, 2, 4 with pings from every vCPU after each, reloads virtio_net, and powers off.
/// Checked here: the guest's own view (channel counts), the driver rules the back-end could observe (judged by
/// <see cref="DriverRecordingJudge"/> and written as a driver-run report to TestResults/linux-guest/), and that
/// the guest's per-queue counters equal the back-end's per-ring counts. Needs qemu-system-x86, linux-image-amd64,
/// busybox-static and ethtool (tests/peers/linux-guest.sh install); CI installs them.
/// The whole run is done twice, once per virtqueue format: split, and packed (virtio-net-pci packed=on, which QEMU
/// passes on because the back-end offers VIRTIO_F_RING_PACKED). One more boot (~20-25 s on TCG) buys every check
/// above for the Linux driver's packed rings too.
/// </summary>
[TestFixture(RingFormat.Split), TestFixture(RingFormat.Packed), Category("Peers"), NonParallelizable]
public sealed partial class LinuxGuestTests(RingFormat format)
{
    private const int Pairs = 4;
    private const int Cpus = 4;
    private static readonly int[] ChannelSteps = [1, 2, 4];
    private static readonly TimeSpan BuildLimit = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan BackendLimit = TimeSpan.FromSeconds(60);
    /// <summary>The guest's own limit (linux-guest.sh kills QEMU after it); the script gets a little more to say so.</summary>
    private const int GuestLimitSeconds = 150;

    private string _work = "";
    private PeerScriptRun? _boot;
    private string _backendLog = "";
    private DriverRecording? _recording;
    private IReadOnlyList<CheckRecord> _checks = [];
    private string _reportFolder = "";

    [OneTimeSetUp]
    public void Boot_the_guest_against_the_reference_back_end()
    {
        var check = PeerScript.Run("linux-guest.sh", ["check"], TimeSpan.FromSeconds(30));
        if (check.ExitCode == 3) Assert.Ignore($"the Linux guest test needs Debian packages: {check.Stderr.Trim()}");
        Assert.That(check.Succeeded, Is.True, $"linux-guest.sh check failed:\n{check}");

        _work = Path.Combine(Path.GetTempPath(), $"vmq-linux-guest-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(_work);
        var socket = Path.Combine(_work, "vu.sock");
        var initramfs = PeerScript.Run("linux-guest.sh", ["initramfs", Path.Combine(_work, "guest")], BuildLimit);
        Assert.That(initramfs.Succeeded, Is.True, $"building the guest's initramfs failed:\n{initramfs}");
        TestContext.Progress.WriteLine(initramfs.Stdout.Trim());

        // The reference build these tests were compiled against, whatever the configuration.
        var dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "VirtioMq.Reference.dll");
        var env = File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")) ? new Dictionary<string, string> { ["REFERENCE_DLL"] = dll } : null;
        var start = PeerScript.Run("reference-backend.sh", ["start", socket, $"{Pairs}", "--record-driver", RecordingPath], BackendLimit, env);
        Assert.That(start.Succeeded, Is.True, $"the reference back-end did not start:\n{start}");
        try
        {
            _boot = PeerScript.Run("linux-guest.sh", ["boot", socket, $"{Pairs}", Path.Combine(_work, "guest")],
                TimeSpan.FromSeconds(GuestLimitSeconds + 30),
                new Dictionary<string, string> { ["TIMEOUT"] = $"{GuestLimitSeconds}", ["SMP"] = $"{Cpus}", ["FORMAT"] = FormatName });
        }
        finally
        {
            var stop = PeerScript.Run("reference-backend.sh", ["stop", socket], BackendLimit);
            TestContext.Progress.WriteLine(stop.Succeeded ? "reference back-end stopped" : $"stopping the back-end failed:\n{stop}");
        }
        _backendLog = File.Exists(socket + ".log") ? File.ReadAllText(socket + ".log") : "(no back-end log)";
        _recording = File.Exists(RecordingPath) ? DriverRecordingFile.Read(RecordingPath) : null;
        TestContext.Progress.WriteLine($"guest boot to poweroff ({FormatName} rings): {_boot.Took.TotalSeconds:F1} s (QEMU status {_boot.ExitCode})");
        if (_recording?.Sessions.Count == 1 && _boot.Succeeded)
        {
            _checks = DriverRecordingJudge.Judge(_recording, _recording.Sessions[0], expectedPairs: Math.Min(Pairs, Cpus));
            WriteReport();
        }
    }

    [OneTimeTearDown]
    public void Remove_files()
    {
        if (_work.Length > 0 && Directory.Exists(_work)) Directory.Delete(_work, recursive: true);
    }

    private string RecordingPath => Path.Combine(_work, "driver.json");

    private string FormatName => format == RingFormat.Packed ? "packed" : "split";

    [Test]
    public void The_guest_and_the_back_end_run_the_virtqueue_format_asked_for()
    {
        var console = Console();
        var session = Session();
        // The guest's /sys/bus/virtio/devices/*/features: one character per bit, bit 0 first, as the driver finalised them.
        var guestBits = Lines(console, "features").SingleOrDefault() ?? "";
        var acked = session.Events.Where(e => e.Kind == DriverEventKind.Features).Select(e => e.Value ?? 0).ToList();
        const int packedBit = (int)FeatureBit.RingPacked;
        var wanted = format == RingFormat.Packed;
        Assert.Multiple(() =>
        {
            Assert.That(guestBits, Has.Length.GreaterThan(packedBit), $"the guest's feature bits (VMQ features)\n{console}");
            if (guestBits.Length > packedBit)
                Assert.That(guestBits[packedBit] == '1', Is.EqualTo(wanted), $"bit {packedBit} (VIRTIO_F_RING_PACKED) of the guest's features {guestBits}, with the NIC's packed={(wanted ? "on" : "off")}");
            // QEMU sends SET_FEATURES per queue pair's vhost device, at the probe and again at the reload; each must carry the format.
            Assert.That(acked, Is.Not.Empty, "SET_FEATURES the back-end accepted");
            Assert.That(acked.Select(f => (f & (1UL << packedBit)) != 0), Is.All.EqualTo(wanted),
                $"VIRTIO_F_RING_PACKED in each SET_FEATURES the back-end accepted: {string.Join(", ", acked.Select(f => $"0x{f:x}"))}");
        });
    }

    [Test]
    public void The_guest_runs_its_script_to_the_end()
    {
        var console = Console();
        Assert.Multiple(() =>
        {
            Assert.That(Lines(console, "error"), Is.Empty, $"the guest's script stopped early\n{console}");
            Assert.That(console, Does.Contain("VMQ done"), $"the guest's script did not finish\n{console}");
            foreach (var n in ChannelSteps)
                Assert.That(console, Does.Contain($"VMQ set {n} rc=0"), $"ethtool -L eth0 combined {n} failed\n{console}");
        });
    }

    [Test]
    public void Ethtool_shows_the_channel_counts_the_driver_was_given()
    {
        var console = Console();
        var seen = Lines(console, "channels").Select(l => l.Split(' ')).Select(w => (Max: w[0], Current: w[1])).ToList();
        // probe (the driver's default), after each `combined N`, after virtio_net was loaded again.
        string[] expected = [$"current={Math.Min(Pairs, Cpus)}", .. ChannelSteps.Select(n => $"current={n}"), $"current={Math.Min(Pairs, Cpus)}"];
        Assert.Multiple(() =>
        {
            Assert.That(seen.Select(s => s.Current), Is.EqualTo(expected), $"`ethtool -l eth0` in order\n{console}");
            Assert.That(seen.Select(s => s.Max), Is.All.EqualTo($"max={Pairs}"), $"the pre-set maximum is the back-end's {Pairs} pairs\n{console}");
        });
    }

    [Test]
    public void The_driver_keeps_the_rules_the_back_end_can_observe()
    {
        var session = Session();
        Assert.That(_checks, Is.Not.Empty, "the recording was not judged");
        var report = $"report: {Path.Combine(_reportFolder, "report.md")}\n{Timeline(session)}";
        Assert.Multiple(() =>
        {
            foreach (var c in _checks.Where(c => c.Outcome != CheckOutcome.NotApplicable))
                Assert.That(c.Outcome, Is.EqualTo(CheckOutcome.Passed), $"{c.Test} [{string.Join(", ", c.Requirements)}]: {c.Message}\n{report}");
            // The run has what the checks need to mean something: pair counts changed both ways, and a reinitialisation.
            Assert.That(DriverPhases.InitialisationStarts(session.Events), Has.Count.EqualTo(2), $"initialisations (probe, then the reload of virtio_net)\n{report}");
            Assert.That(session.Events.Count(e => e.Kind == DriverEventKind.Disable && e.Ring == 3 && e.Rings[3].NextAvail is not null), Is.Positive,
                $"transmitq2 was never disabled while running: no `combined 1` reached the back-end\n{report}");
        });
    }

    [Test]
    public void The_guests_per_queue_counters_equal_the_back_ends_per_ring_counts()
    {
        var console = Console();
        var session = Session();
        var end = session.Events[^1];
        // Counters belong to a driver instance: the first instance's last reading plus the second's.
        var guest = Stats(console, "instance-1").Concat(Stats(console, "instance-2"))
            .GroupBy(s => (s.Direction, s.Queue)).ToDictionary(g => g.Key, g => g.Sum(s => s.Packets));
        var lines = new List<string>();
        Assert.Multiple(() =>
        {
            for (var q = 0; q < Pairs; q++)
            {
                var (tx, rx) = (guest.GetValueOrDefault(("tx", q)), guest.GetValueOrDefault(("rx", q)));
                var (taken, put) = (end.Rings[2 * q + 1].Frames, end.Rings[2 * q].Frames);
                lines.Add($"queue {q}: guest tx {tx} rx {rx}; back-end transmitq{q + 1} {taken} receiveq{q + 1} {put}");
                Assert.That(tx, Is.EqualTo(taken), $"guest tx_queue_{q}_packets against the frames the back-end took from transmitq{q + 1}\n{console}");
                Assert.That(rx, Is.EqualTo(put), $"guest rx_queue_{q}_packets against the frames the back-end put on receiveq{q + 1}\n{console}");
                Assert.That(tx, Is.Positive, $"queue {q} sent nothing\n{console}");
            }
        });
        TestContext.Progress.WriteLine(string.Join("\n", lines));
    }

    [Test]
    public void In_every_phase_the_guest_and_the_back_end_count_the_same_frames_per_queue()
    {
        var console = Console();
        var session = Session();
        // The guest reads its counters at the end of each phase with traffic; the back-end's phases are cut by the
        // ring changes. They must line up one to one, and within each, queue by queue.
        string[] readings = ["probe", .. ChannelSteps.Select(n => $"combined-{n}"), "instance-2"];
        var phases = DriverPhases.Of(session.Events).Where(p => p.HadTraffic).ToList();
        Assert.That(phases, Has.Count.EqualTo(readings.Length), $"phases with traffic in the back-end's recording\n{Timeline(session)}");
        var before = new Dictionary<(string, int), long>();
        Assert.Multiple(() =>
        {
            for (var i = 0; i < readings.Length; i++)
            {
                if (readings[i] == "instance-2") before.Clear(); // a new driver instance counts from zero
                var now = Stats(console, readings[i]).ToDictionary(c => (c.Direction, c.Queue), c => c.Packets);
                Assert.That(now.Keys.Select(k => k.Queue).Distinct().Order(), Is.EqualTo(phases[i].Pairs),
                    $"queues in the guest's reading {readings[i]} against the pairs enabled in {phases[i]}");
                foreach (var pair in phases[i].Pairs)
                {
                    var sent = now.GetValueOrDefault(("tx", pair)) - before.GetValueOrDefault(("tx", pair));
                    var received = now.GetValueOrDefault(("rx", pair)) - before.GetValueOrDefault(("rx", pair));
                    Assert.That(sent, Is.EqualTo(phases[i].Frames[2 * pair + 1]), $"{readings[i]}: guest tx on queue {pair} against {phases[i]}");
                    Assert.That(received, Is.EqualTo(phases[i].Frames[2 * pair]), $"{readings[i]}: guest rx on queue {pair} against {phases[i]}");
                }
                foreach (var (key, value) in now) before[key] = value;
            }
        });
    }

    [Test]
    public void The_back_end_refuses_nothing_the_front_end_sends()
    {
        Session();
        var bad = _backendLog.Split('\n').Where(l => l.Contains("unexpected error") || l.Contains("refused") || l.Contains("not supported")).ToList();
        Assert.That(bad, Is.Empty, $"the back-end's log while QEMU and the guest drove it:\n{_backendLog}");
    }

    private string Console()
    {
        Assert.That(_boot, Is.Not.Null, "the guest was never booted");
        Assert.That(_boot!.Succeeded, Is.True, $"the guest did not run to its poweroff:\n{_boot}\n--- back-end log:\n{_backendLog}");
        return _boot.Stdout;
    }

    private DriverSession Session()
    {
        Console();
        Assert.That(_recording, Is.Not.Null, $"the back-end wrote no recording\n--- back-end log:\n{_backendLog}");
        Assert.That(_recording!.Sessions, Has.Count.EqualTo(1), $"QEMU should have used one vhost-user connection\n--- back-end log:\n{_backendLog}");
        Assert.That(_recording.Sessions[0].EventsDropped, Is.Zero, "events the recording could not keep");
        return _recording.Sessions[0];
    }

    /// <summary>The rest of each "VMQ WHAT ..." line of the console.</summary>
    private static List<string> Lines(string console, string what) =>
        [.. console.Split('\n').Where(l => l.StartsWith($"VMQ {what} ", StringComparison.Ordinal) || l.TrimEnd() == $"VMQ {what}")
            .Select(l => l[(4 + what.Length)..].Trim())];

    private sealed record QueueCount(string Direction, int Queue, long Packets);

    /// <summary>The per-queue packet counters of the `ethtool -S` reading labelled <paramref name="label"/>.</summary>
    private static List<QueueCount> Stats(string console, string label)
    {
        var block = Regex.Match(console, $@"^VMQ stats begin {Regex.Escape(label)}\n(.*?)^VMQ stats end", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.That(block.Success, Is.True, $"no `ethtool -S` reading labelled {label} on the console\n{console}");
        return [.. CounterLine().Matches(block.Groups[1].Value).Select(m => new QueueCount(
            m.Groups[1].Value, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)))];
    }

    [GeneratedRegex(@"^\s*(rx|tx)_queue_(\d+)_packets: (\d+)", RegexOptions.Multiline)]
    private static partial Regex CounterLine();

    /// <summary>
    /// The driver-run report: the same three files as a device run, with the recording and the guest's console, in
    /// VIRTIO_LINUX_GUEST_REPORT_DIR or else TestResults/linux-guest/ at the repository root; the packed run's go
    /// beside it, in the same name with "-packed".
    /// </summary>
    private void WriteReport()
    {
        var session = _recording!.Sessions[0];
        var console = _boot!.Stdout;
        var kernel = Regex.Match(console, @"kernel=(\S+)").Groups[1].Value;
        var qemu = Regex.Match(_boot.Stderr, @"boot: (QEMU [^,]*), .*vectors=(\d+)");
        var features = session.Events.LastOrDefault(e => e.Kind == DriverEventKind.Features)?.Value;
        var end = session.Events[^1];
        var identity = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["driver"] = $"Linux {kernel} virtio_net (module), {Cpus} vCPUs, {FormatName} virtqueues",
            ["front-end"] = $"{qemu.Groups[1].Value}, virtio-net-pci mq=on packed={(format == RingFormat.Packed ? "on" : "off")} vectors={qemu.Groups[2].Value}, vhost-user",
            ["recorded by"] = $"the reference back-end (serve --record-driver), {Pairs} queue pairs",
            ["features acked through SET_FEATURES"] = features is { } f ? $"0x{f:x}" : "none",
            ["boot to poweroff"] = $"{_boot.Took.TotalSeconds:F1} s",
            ["back-end frames per ring"] = string.Join(", ", end.Rings.Select((r, i) => $"{DriverRecordingJudge.QueueName(i)} {r.Frames}")),
            ["events recorded"] = session.Events.Count.ToString(CultureInfo.InvariantCulture),
        };
        var device = $"linux-guest: Linux {kernel} virtio_net under {qemu.Groups[1].Value}, {FormatName} rings, vhost-user to the reference back-end ({Pairs} pairs)";
        // The suite's version and commit, as the SDK stamps them: "1.0.0+<commit>" in a git checkout.
        var stamp = (typeof(ReportBuilder).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown").Split('+', 2);
        var report = ReportBuilder.Build(_checks, RequirementCatalogue.Default, SpecVersions.Primary, device, identity, session.ConnectedAt,
            stamp[0], stamp.Length > 1 ? stamp[1] : "unknown", RunKind.Driver);
        _reportFolder = (Environment.GetEnvironmentVariable("VIRTIO_LINUX_GUEST_REPORT_DIR") is { Length: > 0 } folder
            ? Path.GetFullPath(folder).TrimEnd('/')
            : Path.Combine(PeerScript.RepositoryRoot, "TestResults", "linux-guest")) + (format == RingFormat.Packed ? "-packed" : "");
        Directory.CreateDirectory(_reportFolder);
        File.WriteAllText(Path.Combine(_reportFolder, "report.json"), JsonReport.Render(report));
        File.WriteAllText(Path.Combine(_reportFolder, "report.md"), MarkdownReport.Render(report));
        File.WriteAllText(Path.Combine(_reportFolder, "report.html"), HtmlReport.Render(report));
        File.Copy(RecordingPath, Path.Combine(_reportFolder, "driver-recording.json"), overwrite: true);
        File.WriteAllText(Path.Combine(_reportFolder, "console.log"), console);
        TestContext.Progress.WriteLine($"Driver run: {(report.Certified ? "CERTIFIED" : "NOT CERTIFIED")}; report {Path.Combine(_reportFolder, "report.html")}");
    }

    /// <summary>The recording's enables, disables and starts, one line each, for failure messages.</summary>
    private static string Timeline(DriverSession s) =>
        "back-end timeline (s, event, vring; then frames per vring):\n" + string.Join("\n", s.Events
            .Where(e => e.Kind is DriverEventKind.Enable or DriverEventKind.Disable or DriverEventKind.RingStart or DriverEventKind.RingStop or DriverEventKind.End)
            .Select(e => $"  {e.At,8:F3} {ReportBuilder.Kebab(e.Kind.ToString()),-10} {e.Ring?.ToString(CultureInfo.InvariantCulture) ?? "-",3}  [{string.Join(" ", e.Rings.Select(r => (r.Enabled ? "" : "x") + r.Frames))}]"));
}
