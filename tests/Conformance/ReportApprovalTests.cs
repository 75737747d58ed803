using ApprovalTests;
using ApprovalTests.Reporters;
using ApprovalTests.Writers;
using VirtioMq.Adapters.Devices;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

[assembly: UseReporter(typeof(QuietReporter))]

namespace VirtioMq.Tests.Conformance;

/// <summary>
/// Any change of what a vendor reads is reviewed: the three report formats for a fixed run against the
/// healthy reference and against a faulty one, with fixed seeds, date and version. On a change the test
/// writes *.received.* beside this file; move it over *.approved.* once the new text is right.
/// </summary>
[TestFixture]
public sealed class ReportApprovalTests
{
    private static readonly (ulong, ulong) Seed = (20261125UL, 7UL);

    /// <summary>Runs a few properties for real, with a fixed seed, and turns them into a report with fixed metadata.</summary>
    private static CertificationReport FixedRun(string device)
    {
        var settings = new SuiteSettings(DeviceUri.Parse(device), SpecVersions.Primary, Cases: 20, Seed: Seed, Timeout: TimeSpan.FromSeconds(5));
        var ctx = new SuiteContext(settings, SuiteDevices.Resolver());
        CheckRecord Run(string test, string fixture, string[] ids, string plane, FsCheck.Property property) =>
            Suite.Record(PropertyRunner.Run(test, property, settings), test, fixture, ids, plane, settings, $"{fixture}.{test}");
        const string Data = "the device's data plane", Control = "the device's control plane";
        var checks = new List<CheckRecord>
        {
            Run("Controlq_is_at_2N_and_nowhere_else", "VirtioMq.Conformance.Rules.ControlqPlacementTests", [Rule.NetVqDefLayout], Control,
                ControlqPlacementTests.ControlqAnswersOnlyAtItsIndex(ctx)),
            Run("Frames_come_back_only_on_enabled_receive_queues", "VirtioMq.Conformance.Rules.QueueMappingTests",
                [Rule.NetVqDefLayout, Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed], Data,
                QueueMappingTests.Mapping(ctx, Rule.NetVqDefLayout, Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed)),
            Run("Frames_are_steered_to_the_receiveq_of_their_transmitq", "VirtioMq.Conformance.Rules.QueueMappingTests", [Rule.NetMqDevFollowTx], Data,
                QueueMappingTests.Mapping(ctx, Rule.NetMqDevFollowTx)),
            new("Disabled_rings_are_drained_and_receive_nothing", "VirtioMq.Conformance.Rules.VhostUserDataPlaneTests",
                [Rule.VuRingDisabledTxDiscard, Rule.VuRingDisabledRxNoPackets], Data, CheckOutcome.NotApplicable, 0, null,
                Reason: $"{device} is not reached over vhost-user; these rules bind vhost-user back-ends"),
        };
        var identity = new Dictionary<string, string> { ["kind"] = "reference (in-process)", ["max_virtqueue_pairs"] = "8" };
        return ReportBuilder.Build(checks, RequirementCatalogue.Default, SpecVersions.Primary, device, identity,
            new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero), "1.0.0", "0000000000000000000000000000000000000000");
    }

    private static readonly string Healthy = "reference://?pairs=8";
    private static readonly string Faulty = "reference://?pairs=8&fault=rx-on-disabled";

    [Test]
    public void Markdown_for_the_healthy_reference() => Approvals.Verify(WriterFactory.CreateTextWriter(MarkdownReport.Render(FixedRun(Healthy)), "md"));

    [Test]
    public void Markdown_for_a_faulty_device() => Approvals.Verify(WriterFactory.CreateTextWriter(MarkdownReport.Render(FixedRun(Faulty)), "md"));

    [Test]
    public void Json_for_a_faulty_device() => Approvals.Verify(WriterFactory.CreateTextWriter(JsonReport.Render(FixedRun(Faulty)), "json"));

    [Test]
    public void Html_for_a_faulty_device() => Approvals.Verify(WriterFactory.CreateTextWriter(HtmlReport.Render(FixedRun(Faulty)), "html"));

    [Test]
    public void The_verdicts_follow_the_rule()
    {
        var healthy = FixedRun(Healthy);
        var faulty = FixedRun(Faulty);
        Assert.Multiple(() =>
        {
            Assert.That(healthy.Certified, Is.True);
            Assert.That(faulty.Certified, Is.False);
            Assert.That(faulty.MustFailures, Does.Contain(Rule.NetMqDevRxLimitAfterUsed));
            Assert.That(faulty.Requirements.Single(r => r.Id == Rule.NetMqDevRxLimitAfterUsed).Replay, Does.Contain("VIRTIO_SEED='(20261125,7)'"));
            Assert.That(faulty.Requirements.Single(r => r.Id == Rule.VuRingDisabledTxDiscard).Verdict, Is.EqualTo(Verdict.NotApplicable));
            Assert.That(faulty.Requirements.Single(r => r.Id == Rule.CoreStatusDrvSetBits).Verdict, Is.EqualTo(Verdict.NotApplicable));
            Assert.That(faulty.Requirements.Single(r => r.Id == Rule.CoreResetDevQuiesce).Verdict, Is.EqualTo(Verdict.NotCovered));
        });
    }

    [Test]
    public void A_SHOULD_failure_is_listed_but_does_not_deny_certification()
    {
        var warning = new CheckRecord("Frames_are_steered_to_the_receiveq_of_their_transmitq", "QueueMappingTests", [Rule.NetMqDevFollowTx],
            "the device's data plane", CheckOutcome.Warning, 3, "(1,1)", Rule.NetMqDevFollowTx, "frame sent on transmitq2 came back on receiveq1");
        var robust = new CheckRecord("Zero_and_above_max_are_rejected_without_state_change", "PairsRangeTests", [Rule.RobustMqPairsSetZeroRejected],
            "the device's control plane", CheckOutcome.Warning, 1, "(1,1)", Rule.RobustMqPairsSetZeroRejected, "VQ_PAIRS_SET(0) acked OK");
        var report = ReportBuilder.Build([warning, robust], RequirementCatalogue.Default, SpecVersions.Primary, Healthy, new Dictionary<string, string>(),
            DateTimeOffset.UnixEpoch, "1.0.0", "x");
        Assert.Multiple(() =>
        {
            Assert.That(report.Certified, Is.True);
            Assert.That(report.ShouldWarnings, Is.EqualTo(new[] { Rule.NetMqDevFollowTx }));
            Assert.That(report.RobustnessFindings, Is.EqualTo(new[] { Rule.RobustMqPairsSetZeroRejected }));
            Assert.That(report.Requirements.Single(r => r.Id == Rule.NetMqDevFollowTx).Verdict, Is.EqualTo(Verdict.Fail));
        });
    }

    /// <summary>report.json has exactly the fields report.schema.json lists, at the top and in each requirement and check.</summary>
    [Test]
    public void Json_matches_the_published_schema()
    {
        using var schema = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "conformance", "Reporting", "report.schema.json")));
        using var report = System.Text.Json.JsonDocument.Parse(JsonReport.Render(FixedRun(Faulty)));
        static string[] Names(System.Text.Json.JsonElement e) => [.. e.EnumerateObject().Select(p => p.Name).Order()];
        static string[] Required(System.Text.Json.JsonElement e) => [.. e.GetProperty("required").EnumerateArray().Select(x => x.GetString()!).Order()];
        var root = schema.RootElement;
        var props = root.GetProperty("properties");
        Assert.Multiple(() =>
        {
            Assert.That(Names(report.RootElement), Is.EqualTo(Required(root)));
            Assert.That(Names(report.RootElement.GetProperty("requirements")[0]), Is.EqualTo(Required(props.GetProperty("requirements").GetProperty("items"))));
            Assert.That(Names(report.RootElement.GetProperty("checks")[0]), Is.EqualTo(Required(props.GetProperty("checks").GetProperty("items"))));
            var verdicts = props.GetProperty("requirements").GetProperty("items").GetProperty("properties").GetProperty("verdict").GetProperty("enum")
                .EnumerateArray().Select(x => x.GetString()).ToHashSet();
            Assert.That(report.RootElement.GetProperty("requirements").EnumerateArray().Select(r => r.GetProperty("verdict").GetString()).Distinct(), Is.SubsetOf(verdicts));
        });
    }

}
