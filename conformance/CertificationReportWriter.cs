using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Reporting;

// No namespace: NUnit runs a SetUpFixture outside any namespace once around the whole assembly.

/// <summary>
/// Opens and closes a conformance run (<see cref="ConformanceRun"/>): the device is reached once before any check,
/// the report is kept on disk as checks end, and at the end the verdict is printed with the requirement coverage and
/// becomes the run's result. A device that cannot be reached skips every check with one line, and fails the run here.
/// </summary>
#pragma warning disable CA1050
[SetUpFixture]
public sealed class CertificationReportWriter
{
    public const string ReportDirVariable = ReportFiles.ReportDirVariable;

    [OneTimeSetUp]
    public void Start()
    {
        if (ConformanceRun.Start() is { } why)
        {
            TestContext.Progress.WriteLine($"Certification: NOT CERTIFIED — {why}");
            // Every check is skipped with this short note; the reason itself is said once, above and in the verdict.
            Assert.Ignore("not run: the run could not start (its verdict says why)");
        }
    }

    [OneTimeTearDown]
    public void WriteReport()
    {
        var report = ConformanceRun.End(TestContext.CurrentContext.Result.FailCount);
        var p = TestContext.Progress;
        p.WriteLine($"Certification: {(report.Certified ? "CERTIFIED" : "NOT CERTIFIED")} — {report.Device} against virtio {report.SpecVersion}; " +
            $"MUST failures: {Count(report.MustFailures)}, known findings: {Count(report.KnownFindings)}, SHOULD warnings: {Count(report.ShouldWarnings)}, " +
            $"robustness findings: {Count(report.RobustnessFindings)}");
        foreach (var b in report.NotCertifiedBecause)
            p.WriteLine($"  not certified because {b.Text}{(b.Expected && b.Kind != "partial-run" ? " (listed in the expected-results file)" : "")}");
        foreach (var c in report.Coverage)
            p.WriteLine($"Requirement coverage, {c.Group}: {c.Covered}/{c.Statements} ({c.Percent}%)");
        p.WriteLine($"Report: {Path.Combine(ReportFiles.Folder(), "report.html")} (and report.json, report.md)");
        // The verdict is the run's result. A reason the expected-results file does not list fails the run even when
        // every test ended as a pass or a warning: a check that stopped at a SHOULD before judging a MUST, a check that
        // never ran, a device without multiqueue.
        if (report.RunFails && TestContext.CurrentContext.Result.FailCount == 0)
            Assert.Fail($"NOT CERTIFIED: {string.Join("; ", report.Unexpected)}");
    }

    private static string Count(IReadOnlyList<string> ids) => ids.Count == 0 ? "0" : $"{ids.Count} ({string.Join(", ", ids)})";
}
#pragma warning restore CA1050
