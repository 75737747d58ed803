using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Adapters.VhostUser;
using VirtioMq.Conformance.DriverRuns;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;
using VirtioMq.Spec.Recording;
using KnownFindings = VirtioMq.Conformance.Infrastructure.KnownFindings;

namespace VirtioMq.Tests.DriverRuns;

/// <summary>
/// The driver checks of a driver run can fail: the suite's own front-end drives a recording back-end over a real
/// socket, once keeping the multiqueue transmit rules and once breaking each of them, and the judge must pass the
/// first and name the broken rule for the others. Without this, a passing Linux guest would prove nothing.
/// </summary>
[TestFixture]
public sealed class DriverRecordingJudgeTests
{
    private static readonly TimeSpan RecordingWait = TimeSpan.FromSeconds(10);

    [Test]
    public void A_driver_that_keeps_the_transmit_rules_passes()
    {
        var (recording, session) = Record(d => SendAfterShrinkingToOnePair(d, transmitq: 1));
        var checks = DriverRecordingJudge.Judge(recording, session, expectedPairs: [2]);
        Assert.Multiple(() =>
        {
            Assert.That(Outcome(checks, Rule.NetMqDrvTxQ1BeforeSet), Is.EqualTo(CheckOutcome.Passed), Explain(checks, session));
            Assert.That(Outcome(checks, Rule.NetMqDrvTxLimitAfterSet), Is.EqualTo(CheckOutcome.Passed), Explain(checks, session));
            Assert.That(Outcome(checks, Rule.NetMqDrvConfigureBeforeEnable), Is.EqualTo(CheckOutcome.Passed), Explain(checks, session));
            Assert.That(Outcome(checks, Rule.CoreFeatDrvNoUnoffered), Is.EqualTo(CheckOutcome.Passed), Explain(checks, session));
            Assert.That(checks.Single(c => c.Requirements.Contains(Rule.NetMqDrvTxLimitAfterSet)).Cases, Is.Positive,
                $"the judge saw no window after a disable\n{Explain(checks, session)}");
        });
    }

    [Test]
    public void Sending_on_transmitq2_after_VQ_PAIRS_SET_1_breaks_tx_limit_after_set()
    {
        var (recording, session) = Record(d => SendAfterShrinkingToOnePair(d, transmitq: 2));
        var checks = DriverRecordingJudge.Judge(recording, session, expectedPairs: [2]);
        var broken = checks.Single(c => c.Requirements.Contains(Rule.NetMqDrvTxLimitAfterSet));
        Assert.Multiple(() =>
        {
            Assert.That(broken.Outcome, Is.EqualTo(CheckOutcome.Failed), Explain(checks, session));
            Assert.That(broken.Message, Does.Contain("transmitq2"), Explain(checks, session));
            Assert.That(Outcome(checks, Rule.NetMqDrvTxQ1BeforeSet), Is.EqualTo(CheckOutcome.Passed), Explain(checks, session));
        });
    }

    [Test]
    public void Sending_on_transmitq2_before_VQ_PAIRS_SET_breaks_tx_q1_before_set()
    {
        var (recording, session) = Record(d =>
        {
            d.Initialize(pairs: 2);
            SendOn(d, 2);
            d.VqPairsSet(2);
        });
        var checks = DriverRecordingJudge.Judge(recording, session, expectedPairs: [2]);
        var broken = checks.Single(c => c.Requirements.Contains(Rule.NetMqDrvTxQ1BeforeSet));
        Assert.Multiple(() =>
        {
            Assert.That(broken.Outcome, Is.EqualTo(CheckOutcome.Failed), Explain(checks, session));
            Assert.That(broken.Message, Does.Contain("transmitq2"), Explain(checks, session));
        });
    }

    [Test]
    public void A_driver_run_report_judges_driver_rules_and_leaves_device_rules_alone()
    {
        var (recording, session) = Record(d => SendAfterShrinkingToOnePair(d, transmitq: 2));
        var checks = DriverRecordingJudge.Judge(recording, session, expectedPairs: [2]);
        var report = ReportBuilder.Build(checks, RequirementCatalogue.Default, SpecVersions.Primary, "the suite's front-end", new Dictionary<string, string>(),
            DateTimeOffset.UnixEpoch, "1.0.0", "x", RunKind.Driver);
        Assert.Multiple(() =>
        {
            Assert.That(report.RunKind, Is.EqualTo(RunKind.Driver));
            Assert.That(report.Certified, Is.False);
            Assert.That(report.MustFailures, Does.Contain(Rule.NetMqDrvTxLimitAfterSet));
            Assert.That(report.Requirements.Single(r => r.Id == Rule.NetMqDevRxLimitAfterUsed).Verdict, Is.EqualTo(Verdict.NotApplicable));
            Assert.That(report.Requirements.Single(r => r.Id == Rule.NetMqDrvPairsRange).Why, Does.Contain("QEMU"));
            Assert.That(JsonReport.Render(report), Does.Contain("\"runKind\": \"driver\""));
            Assert.That(MarkdownReport.Render(report), Does.StartWith("# virtio-net multiqueue driver conformance: NOT CERTIFIED"));
        });
    }

    [Test]
    public void A_driver_that_keeps_the_rules_through_a_restore_passes()
    {
        var (recording, session) = Record(d =>
        {
            TwoPairsInUse(d);
            Restore(d);
            d.VqPairsSet(2);
            SendOn(d, 1, 2);
        });
        var checks = DriverRecordingJudge.Judge(recording, session, expectedPairs: [2, 2]);
        Assert.Multiple(() =>
        {
            foreach (var c in checks.Where(c => c.Outcome != CheckOutcome.NotApplicable))
                Assert.That(c.Outcome, Is.EqualTo(CheckOutcome.Passed), $"{c.Test}\n{Explain(checks, session)}");
            Assert.That(checks.Single(c => c.Requirements.Contains(Rule.NetMqDrvTxQ1BeforeSet)).Cases, Is.GreaterThanOrEqualTo(2),
                $"the restore opened no window of its own\n{Explain(checks, session)}");
            Assert.That(InitialisationWindows.Of(session.Events).Select(w => w.Pairs), Is.EqualTo(new[] { 2, 2 }), Explain(checks, session));
        });
    }

    [Test]
    public void Sending_on_transmitq2_in_the_restore_window_breaks_tx_q1_before_set()
    {
        var (recording, session) = Record(d =>
        {
            TwoPairsInUse(d);
            Restore(d);
            SendOn(d, 2);
            d.VqPairsSet(2);
            SendOn(d, 1, 2);
        });
        var checks = DriverRecordingJudge.Judge(recording, session, expectedPairs: [2, 2]);
        var broken = checks.Single(c => c.Requirements.Contains(Rule.NetMqDrvTxQ1BeforeSet));
        Assert.Multiple(() =>
        {
            Assert.That(broken.Outcome, Is.EqualTo(CheckOutcome.Failed), Explain(checks, session));
            Assert.That(broken.Message, Does.Contain("transmitq2").And.Contain("initialisation 2"), Explain(checks, session));
            Assert.That(InitialisationWindows.Of(session.Events)[1].TransmitFramesAboveFirst, Is.EqualTo(new[] { 1L }), Explain(checks, session));
        });
    }

    [Test]
    public void A_restore_that_brings_back_fewer_pairs_than_before_breaks_pairs_come_back()
    {
        var (recording, session) = Record(d =>
        {
            TwoPairsInUse(d);
            Restore(d);
            d.VqPairsSet(1);
            SendOn(d, 1);
        });
        var checks = DriverRecordingJudge.Judge(recording, session, expectedPairs: [2, 2]);
        var broken = checks.Single(c => c.Requirements.Contains(Rule.NetVqDrvIdentify));
        Assert.Multiple(() =>
        {
            Assert.That(broken.Outcome, Is.EqualTo(CheckOutcome.Failed), Explain(checks, session));
            Assert.That(broken.Message, Does.Contain("initialisation 2").And.Contain("expected 2"), Explain(checks, session));
        });
    }

    /// <summary>
    /// The device side of a driver run: a back-end that loops a frame from a transmitq whose pair is not enabled to
    /// that pair's receiveq (rx-on-disabled, Open vSwitch 585a5beaa2a4) fails both receive checks, in a restore
    /// window and after a smaller VQ_PAIRS_SET; the reference, driven the same way, passes them.
    /// </summary>
    [TestCase(true), TestCase(false)]
    public void A_back_end_that_delivers_on_a_receiveq_not_enabled_fails_the_device_rules(bool afterReset)
    {
        void Drive(NetDriver d)
        {
            TwoPairsInUse(d);
            if (afterReset) Restore(d);
            else d.VqPairsSet(1);
            SendOn(d, 2);
        }
        var id = afterReset ? Rule.NetMqDevRxQ1AfterReset : Rule.NetMqDevRxLimitAfterUsed;
        var (_, healthy) = Record(Drive);
        var (_, broken) = Record(Drive, new ReferenceOptions(2, Deviations: [new RxOnDisabled()]));
        var passed = BackEndRecordingJudge.Judge(healthy).Single(c => c.Requirements.Contains(id));
        var failed = BackEndRecordingJudge.Judge(broken).Single(c => c.Requirements.Contains(id));
        Assert.Multiple(() =>
        {
            Assert.That(passed.Outcome, Is.EqualTo(CheckOutcome.Passed), $"the reference: {passed.Message ?? passed.Reason}\n{Explain([passed], healthy)}");
            Assert.That(failed.Outcome, Is.EqualTo(CheckOutcome.Failed), $"rx-on-disabled\n{Explain([failed], broken)}");
            Assert.That(failed.ViolatedRequirement, Is.EqualTo(id));
            Assert.That(failed.Message, Does.Contain("receiveq2"), Explain([failed], broken));
        });
    }

    /// <summary>A driver's expected-results file (conformance/Expected/drivers) parses and lists only checks the judge makes.</summary>
    [Test]
    public void The_shipped_driver_expected_files_name_checks_the_judge_makes()
    {
        var (recording, session) = Record(TwoPairsInUse);
        var names = DriverRecordingJudge.Judge(recording, session, expectedPairs: [2]).Select(c => c.Test).ToHashSet();
        var folder = Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "conformance", "Expected", "drivers");
        var files = Directory.GetFiles(folder, "*.txt");
        Assert.That(files, Is.Not.Empty);
        foreach (var file in files)
        {
            Assert.That(KnownFindings.Load(file)!.Path, Does.EndWith(Path.GetFileName(file)));
            foreach (var line in File.ReadAllLines(file).Select(l => l.Split('#')[0].Trim()).Where(l => l.Length > 0))
                Assert.That(names, Does.Contain(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]), $"{Path.GetFileName(file)} names a check the driver judge does not make");
        }
    }

    /// <summary>Two pairs set up, VQ_PAIRS_SET(2), and a frame on each transmitq.</summary>
    private static void TwoPairsInUse(NetDriver d)
    {
        d.Initialize(pairs: 2);
        d.VqPairsSet(2);
        SendOn(d, 1, 2);
    }

    /// <summary>What a restore from sleep does to the device: a reset and a whole new initialisation, receive buffers included, with no VQ_PAIRS_SET yet.</summary>
    private static void Restore(NetDriver d) => d.Initialize(pairs: 2);

    /// <summary>Two pairs used, then VQ_PAIRS_SET(1), then one frame on <paramref name="transmitq"/>: legal on transmitq1 only.</summary>
    private static void SendAfterShrinkingToOnePair(NetDriver d, int transmitq)
    {
        d.Initialize(pairs: 2);
        d.VqPairsSet(2);
        SendOn(d, 1, 2);
        d.VqPairsSet(1);
        SendOn(d, transmitq);
    }

    /// <summary>One frame on each transmitq named (1-based), then the device's settle time so the back-end has taken them.</summary>
    private static void SendOn(NetDriver d, params int[] pairs)
    {
        foreach (var pair in pairs) d.TransmitTagged(pair, flow: pair);
        Thread.Sleep(d.Device.SettleTime * 4);
    }

    private static CheckOutcome Outcome(IReadOnlyList<CheckRecord> checks, string id) => checks.Single(c => c.Requirements.Contains(id)).Outcome;

    private static string Explain(IReadOnlyList<CheckRecord> checks, DriverSession session) =>
        string.Join("\n", checks.Select(c => $"{c.Test}: {c.Outcome} ({c.Cases} case(s)) {c.Message}")) + "\nevents:\n" +
        string.Join("\n", session.Events.Select(e => $"  {e.At:F3} {e.Kind} {e.Ring} {e.Value} [{string.Join(" ", e.Rings.Select(r => $"{(r.Enabled ? "E" : "-")}{r.Frames}/{r.AvailIdx}/{r.NextAvail}"))}]"));

    /// <summary>Runs <paramref name="drive"/> as the front-end of a recording reference back-end (2 pairs) and returns what it recorded.</summary>
    private static (DriverRecording, DriverSession) Record(Action<NetDriver> drive, ReferenceOptions? options = null)
    {
        var socket = RunningBackend.NewSocketPath("drvrec");
        var file = socket + ".driver.json";
        try
        {
            using var backend = new RunningBackend(socket, options ?? new ReferenceOptions(2), driverRecordPath: file);
            using (var device = new VhostUserDevice(DeviceUri.Parse($"vhost-user://{socket}?pairs=2")))
                drive(new NetDriver(device));
            // The back-end writes the file when it sees the session end.
            var deadline = DateTime.UtcNow + RecordingWait;
            while (!(File.Exists(file) && DriverRecordingFile.Read(file).Sessions is [{ EndedAt: not null }]))
            {
                if (DateTime.UtcNow > deadline)
                    Assert.Fail($"the back-end wrote no recording of the ended session to {file} within {RecordingWait.TotalSeconds:0} s\n{string.Join("\n", backend.LogLines)}");
                Thread.Sleep(20);
            }
            var recording = DriverRecordingFile.Read(file);
            return (recording, recording.Sessions[0]);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
