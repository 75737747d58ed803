using System.Text.RegularExpressions;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Interop;

/// <summary>
/// DPDK's virtio-user PMD, a virtio-net driver written by others, drives the reference back-end over a real
/// socket with 1, 2 and 4 queue pairs and then changes from 4 pairs to 2 the way applications do, with split
/// virtqueues; then again with packed ones (packed_vq=1) for 1 and 4 pairs and 4 then 2. The changes from 4 to 2 run
/// with VIRTIO_F_IN_ORDER (in_order=1, virtio-user's default), where the back-end returns buffers in batches; the
/// other runs decline it (in_order=0). The back-end runs as its
/// own process (tests/peers/reference-backend.sh) and records, per ring, every frame and every enable or disable,
/// and per session the features the front-end accepted (serve --stats): from that side the test checks that each
/// session ran the format asked for and that frames only ever moved on rings the front-end had enabled. Needs
/// dpdk-testpmd (Debian dpdk-dev); CI installs it.
/// </summary>
[TestFixture, Category("Peers"), NonParallelizable]
public sealed partial class VirtioUserFrontEndTests
{
    /// <summary>
    /// One front-end run against the back-end: the queue pairs it starts with, maybe the count it changes to, the
    /// virtqueue format it asks for, and whether it accepts VIRTIO_F_IN_ORDER.
    /// </summary>
    public sealed record Scenario(int Queues, int? ChangeTo = null, RingFormat Format = RingFormat.Split, bool InOrder = false)
    {
        public override string ToString() =>
            (ChangeTo is { } n ? $"{Queues} pairs then {n}" : $"{Queues} pair(s)") + $", {SessionReport.FormatName(Format)}" + (InOrder ? ", in order" : "");
    }

    /// <summary>
    /// In the order they run; the back-end numbers its sessions the same way, from 1. Packed has no 2-pair run of
    /// its own: the change from 4 to 2 covers two pairs, and each run costs a testpmd start (~3 s). The changes run in
    /// order and the rest not, so each format meets both without a run of its own for either.
    /// </summary>
    public static readonly Scenario[] Scenarios =
    [
        new(1), new(2), new(4), new(4, 2, InOrder: true),
        new(1, Format: RingFormat.Packed), new(4, Format: RingFormat.Packed), new(4, 2, RingFormat.Packed, InOrder: true),
    ];

    public static IEnumerable<Scenario> Changes => Scenarios.Where(s => s.ChangeTo is not null);

    private const int BackendPairs = 4;
    private static readonly TimeSpan BackendLimit = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FrontEndLimit = TimeSpan.FromSeconds(45);

    private readonly Dictionary<Scenario, PeerScriptRun> _runs = [];
    private string _socket = "";
    private string _statsPath = "";
    private string _backendLog = "";
    private StatsReport? _stats;

    [OneTimeSetUp]
    public void Run_DPDK_against_the_reference_back_end()
    {
        if (PeerScript.FindOnPath("dpdk-testpmd") is null)
            Assert.Ignore("dpdk-testpmd is not installed (Debian package dpdk-dev; tests/peers/testpmd-device.sh install)");
        var tag = $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..20];
        _socket = $"/tmp/vmq-vu-{tag}.sock";
        _statsPath = $"/tmp/vmq-vu-{tag}.stats.json";
        // The reference build these tests were compiled against, whatever the configuration.
        var dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "VirtioMq.Reference.dll");
        var env = File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")) ? new Dictionary<string, string> { ["REFERENCE_DLL"] = dll } : null;

        var start = PeerScript.Run("reference-backend.sh", ["start", _socket, $"{BackendPairs}", "--stats", _statsPath], BackendLimit, env);
        if (!start.Succeeded) Assert.Fail($"the reference back-end did not start:\n{start}");
        try
        {
            foreach (var s in Scenarios)
                _runs[s] = PeerScript.Run("virtio-user-driver.sh", [_socket, $"{s.Queues}", .. s.ChangeTo is { } n ? [$"{n}"] : Array.Empty<string>()], FrontEndLimit,
                    new Dictionary<string, string> { ["FORMAT"] = SessionReport.FormatName(s.Format), ["IN_ORDER"] = s.InOrder ? "1" : "0" });
        }
        finally
        {
            var stop = PeerScript.Run("reference-backend.sh", ["stop", _socket], BackendLimit);
            TestContext.Progress.WriteLine(stop.Succeeded ? "reference back-end stopped" : $"stopping the back-end failed:\n{stop}");
        }
        _backendLog = File.Exists(_socket + ".log") ? File.ReadAllText(_socket + ".log") : "(no back-end log)";
        _stats = File.Exists(_statsPath) ? StatsFile.Read(_statsPath) : null;
    }

    [OneTimeTearDown]
    public void Remove_files()
    {
        if (_socket.Length == 0) return; // ignored before anything was started
        foreach (var f in new[] { _statsPath, _socket + ".log", _socket + ".pid" }) File.Delete(f);
    }

    [TestCaseSource(nameof(Scenarios))]
    public void Every_ring_of_an_enabled_pair_carries_frames_and_no_other_ring_does(Scenario s)
    {
        var (run, session) = Outcome(s);
        var pairs = s.Queues;
        Assert.Multiple(() =>
        {
            foreach (var ring in session.Rings)
            {
                if (ring.Ring < 2 * pairs)
                    Assert.That(ring.Frames, Is.Positive, $"{ring.Queue} (vring {ring.Ring}) belongs to a pair the front-end enabled but carried no frame\n{Describe(session)}");
                else
                    Assert.That((ring.Frames, ring.History.Count), Is.EqualTo((0L, 0)),
                        $"{ring.Queue} (vring {ring.Ring}) is above the {pairs} pair(s) the front-end set up, yet it was enabled or carried frames\n{Describe(session)}");
            }
        });
        // The two sides must agree: every frame the driver sent on queue q was taken from transmitq q+1, and the
        // driver cannot have received more on receiveq q+1 than the back-end put there.
        var counts = FrontEndCounts(run);
        Assert.Multiple(() =>
        {
            for (var q = 0; q < pairs; q++)
            {
                var sent = counts.Where(c => c.Queue == q).Sum(c => c.Tx);
                var received = counts.Where(c => c.Queue == q).Sum(c => c.Rx);
                Assert.That(session.Rings[2 * q + 1].Frames, Is.EqualTo(sent), $"frames taken from transmitq{q + 1} against the driver's count of frames sent on queue {q}\n{run.Stdout}");
                Assert.That(session.Rings[2 * q].Frames, Is.GreaterThanOrEqualTo(received), $"frames put on receiveq{q + 1} against the driver's count of frames received on queue {q}\n{run.Stdout}");
            }
        });
    }

    [TestCaseSource(nameof(Scenarios))]
    public void The_session_runs_the_ring_format_and_order_the_front_end_asked_for(Scenario s)
    {
        var (_, session) = Outcome(s);
        var packed = (session.Features & (1UL << (int)FeatureBit.RingPacked)) != 0;
        var inOrder = (session.Features & (1UL << (int)FeatureBit.InOrder)) != 0;
        Assert.Multiple(() =>
        {
            Assert.That(session.Features, Is.Not.Zero, $"the front-end never set features\n{_backendLog}");
            Assert.That(packed, Is.EqualTo(s.Format == RingFormat.Packed),
                $"VIRTIO_F_RING_PACKED (bit 34) in the features accepted, 0x{session.Features:x}: virtio-user was asked for {SessionReport.FormatName(s.Format)} rings");
            Assert.That(inOrder, Is.EqualTo(s.InOrder),
                $"VIRTIO_F_IN_ORDER (bit 35) in the features accepted, 0x{session.Features:x}: virtio-user was run with in_order={(s.InOrder ? 1 : 0)}");
            Assert.That(session.RingFormat, Is.EqualTo(SessionReport.FormatName(s.Format)), "the ring format the back-end ran");
        });
    }

    [Test]
    public void No_frame_is_ever_taken_from_or_delivered_to_a_disabled_ring()
    {
        foreach (var s in Scenarios) Outcome(s);
        Assert.Multiple(() =>
        {
            foreach (var session in _stats!.Sessions)
                foreach (var ring in session.Rings)
                    Assert.That(ring.FramesWhileDisabled, Is.Zero,
                        $"session {session.Number} ({Scenarios[session.Number - 1]}): {ring.FramesWhileDisabled} frame(s) moved on {ring.Queue} (vring {ring.Ring}) while it was disabled\n{Describe(session)}");
        });
    }

    [TestCaseSource(nameof(Changes))]
    public void After_the_change_from_4_pairs_to_2_rings_4_to_7_carry_nothing_more(Scenario change)
    {
        var (run, session) = Outcome(change);
        var kept = 2 * change.ChangeTo!.Value;
        // The change is the first disable of any ring while the rings that stay were all still enabled (the
        // front-end disables every ring again when it quits).
        var firstDisableOfKept = session.Rings.Take(kept).Select(r => r.History.FirstOrDefault(e => !e.Enabled)?.AtSeconds ?? double.MaxValue).Min();
        Assert.Multiple(() =>
        {
            foreach (var ring in session.Rings.Skip(kept))
            {
                var disable = ring.History.FirstOrDefault(e => !e.Enabled && e.AtSeconds < firstDisableOfKept);
                Assert.That(disable, Is.Not.Null, $"{ring.Queue} (vring {ring.Ring}) was never disabled while vrings 0..{kept - 1} stayed enabled: the change to {change.ChangeTo} pairs did not reach the back-end\n{Describe(session)}");
                if (disable is null) continue;
                Assert.That(ring.History.Any(e => e.Enabled && e.AtSeconds > disable.AtSeconds), Is.False, $"{ring.Queue} was enabled again after the change\n{Describe(session)}");
                Assert.That(ring.Frames, Is.EqualTo(disable.Frames), $"{ring.Queue} (vring {ring.Ring}) carried {ring.Frames - disable.Frames} frame(s) after it was disabled by the change\n{Describe(session)}");
            }
        });
        // The pairs that stay go on working after the change: the driver got frames back on each of them.
        var phase2 = FrontEndCounts(run).Where(c => c.Phase == 2).ToList();
        Assert.That(phase2.Select(c => c.Queue), Is.EquivalentTo(Enumerable.Range(0, change.ChangeTo.Value)), $"queues the driver used after the change\n{run.Stdout}");
        Assert.That(phase2.Select(c => c.Rx), Is.All.Positive, $"after the change every remaining queue should get frames back\n{run.Stdout}");
    }

    [Test]
    public void The_back_end_logs_no_unexpected_error_and_refuses_nothing()
    {
        foreach (var s in Scenarios) Outcome(s);
        var bad = _backendLog.Split('\n').Where(l => l.Contains("unexpected error") || l.Contains("refused") || l.Contains("not supported")).ToList();
        Assert.That(bad, Is.Empty, $"the back-end's log while DPDK's virtio-user drove it:\n{_backendLog}");
    }

    /// <summary>The scenario's front-end run, which must have succeeded, and the back-end's record of its session.</summary>
    private (PeerScriptRun Run, SessionReport Session) Outcome(Scenario s)
    {
        if (!_runs.TryGetValue(s, out var run)) throw new AssertionException($"the front-end run for {s} never happened");
        Assert.That(run.Succeeded, Is.True, $"DPDK's front-end ({s}) failed:\n{run}\n--- back-end log:\n{_backendLog}");
        Assert.That(_stats, Is.Not.Null, $"the back-end wrote no stats file at {_statsPath}\n--- back-end log:\n{_backendLog}");
        Assert.That(_stats!.Sessions.Select(x => x.Number), Is.EqualTo(Enumerable.Range(1, Scenarios.Length)),
            $"the back-end should have served one session per front-end run ({Scenarios.Length})\n--- back-end log:\n{_backendLog}");
        var session = _stats.Sessions[Array.IndexOf(Scenarios, s)];
        Assert.That(session.Rings, Has.Count.EqualTo(2 * BackendPairs), "rings in the session's report");
        return (run, session);
    }

    private sealed record QueueCount(int Phase, int Queue, long Rx, long Tx);

    /// <summary>The driver's own per-queue counts: its "phase P queue Q rx N tx N" lines.</summary>
    private static List<QueueCount> FrontEndCounts(PeerScriptRun run) =>
        [.. CountLine().Matches(run.Stdout).Select(m => new QueueCount(
            int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), long.Parse(m.Groups[3].Value), long.Parse(m.Groups[4].Value)))];

    [GeneratedRegex(@"^phase (\d+) queue (\d+) rx (\d+) tx (\d+)$", RegexOptions.Multiline)]
    private static partial Regex CountLine();

    private static string Describe(SessionReport s) =>
        $"back-end view of session {s.Number}:\n" + string.Join("\n", s.Rings.Select(r =>
            $"  vring {r.Ring} {r.Queue}: {r.Frames} frame(s), {r.FramesWhileDisabled} while disabled; " +
            string.Join(", ", r.History.Select(e => $"{(e.Enabled ? "on" : "off")}@{e.AtSeconds:F3}s[{e.Frames}]"))));
}
