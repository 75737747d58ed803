using VirtioMq.Conformance.Reporting;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Conformance;

/// <summary>
/// The interop matrix joins several devices' report.json files by requirement: each cell is that device's verdict, a
/// failure links to its counterexample and replay command, and a requirement no device judged is counted, not shown.
/// </summary>
[TestFixture]
public sealed class InteropMatrixTests
{
    private const string Fixture = "VirtioMq.Conformance.Rules.QueueMappingTests";

    private static CertificationReport Report(string device, CheckOutcome outcome) =>
        ReportBuilder.Build(
        [
            new CheckRecord("Frames_come_back_only_on_enabled_receive_queues", Fixture, [Rule.NetMqDevRxLimitAfterUsed], "the device's data plane",
                outcome, 7, "(1,2)", outcome is CheckOutcome.Failed or CheckOutcome.KnownFinding ? Rule.NetMqDevRxLimitAfterUsed : null,
                Message: "a frame on receiveq3 after VQ_PAIRS_SET(2)", ShrunkCase: "VQ_PAIRS_SET(2); frame on transmitq3", Replay: "VIRTIO_SEED='(1,2)' dotnet test conformance")
            { Ring = "split" },
        ], RequirementCatalogue.Default, SpecVersions.Primary, device, new Dictionary<string, string>(),
            new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero), "1.0.0", "0123456");

    private static readonly DateTimeOffset Built = new(2026, 12, 6, 1, 0, 0, TimeSpan.Zero);

    [Test]
    public void Each_cell_is_that_devices_verdict_and_unjudged_rules_are_only_counted()
    {
        var good = Report("reference://?pairs=8", CheckOutcome.Passed);
        var report0RequirementCount = good.Requirements.Count;
        var m = InteropMatrix.Of([("good", good), ("bad", Report("vhost-user:///x.sock", CheckOutcome.Failed))], Built);
        var row = m.Rows.Single(r => r.Id == Rule.NetMqDevRxLimitAfterUsed);
        Assert.Multiple(() =>
        {
            Assert.That(m.Devices.Select(d => (d.Name, d.Certified)), Is.EqualTo(new[] { ("good", true), ("bad", false) }));
            Assert.That(row.Cells.Select(c => c!.Verdict), Is.EqualTo(new[] { Verdict.Pass, Verdict.Fail }));
            Assert.That(row.Cells[1]!.Counterexample, Does.Contain("transmitq3"));
            Assert.That(row.Cells[1]!.Replay, Does.Contain("VIRTIO_SEED"));
            Assert.That(m.Rows, Has.Count.EqualTo(1), "only the rule some device judged is a row");
            Assert.That(m.HiddenRows + m.Rows.Count, Is.EqualTo(report0RequirementCount), "every other rule of the report is counted as hidden");
            Assert.That(row.Chapter, Is.EqualTo("5.1 Network device"));
        });
    }

    [Test]
    public void A_failure_cell_links_to_its_counterexample_and_replay_on_the_page()
    {
        var html = MatrixHtml.Render(InteropMatrix.Of([("bad", Report("vhost-user:///x.sock", CheckOutcome.KnownFinding))], Built));
        var anchor = "d0-" + Rule.NetMqDevRxLimitAfterUsed.Replace('.', '-');
        Assert.Multiple(() =>
        {
            Assert.That(html, Does.Contain($"<a href=\"#{anchor}\">known-finding</a>"));
            Assert.That(html, Does.Contain($"id=\"{anchor}\""));
            Assert.That(html, Does.Contain("VQ_PAIRS_SET(2); frame on transmitq3"));
            Assert.That(html, Does.Contain("dotnet test conformance"));
            Assert.That(html, Does.Not.Contain("<script").And.Not.Contain("http://").And.Not.Contain("https://"), "one self-contained page");
        });
    }

    [Test]
    public void A_report_read_back_from_json_builds_the_same_matrix()
    {
        var report = Report("reference://?pairs=8", CheckOutcome.Failed);
        var again = JsonReport.Parse(JsonReport.Render(report));
        var a = JsonReport.RenderAny(InteropMatrix.Of([("x", report)], Built));
        var b = JsonReport.RenderAny(InteropMatrix.Of([("x", again)], Built));
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void Two_columns_of_one_name_are_refused()
    {
        var r = Report("reference://?pairs=8", CheckOutcome.Passed);
        Assert.That(() => InteropMatrix.Of([("x", r), ("x", r)], Built), Throws.ArgumentException.With.Message.Contains("'x'"));
    }
}
