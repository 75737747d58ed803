using System.Reflection;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Spec;

// No namespace: NUnit runs a SetUpFixture outside any namespace once around the whole assembly.

/// <summary>
/// Writes the certification report (report.json, report.md, report.html) when a conformance run ends, and
/// prints the verdict and the requirement coverage. Folder: VIRTIO_REPORT_DIR or the report-dir parameter,
/// by default TestResults/conformance/ at the repository root.
/// </summary>
[SetUpFixture]
public sealed class CertificationReportWriter
{
    public const string ReportDirVariable = "VIRTIO_REPORT_DIR";

    [OneTimeTearDown]
    public void WriteReport()
    {
        var checks = RunRecorder.Snapshot();
        if (checks.Count == 0) return;
        var settings = SuiteContext.Current.Settings;
        var report = ReportBuilder.Build(checks, RequirementCatalogue.Default, settings.Version, settings.Device.Text,
            Identify(SuiteContext.Current), RunRecorder.Started, SuiteVersion(), SuiteCommit());
        var folder = ReportFolder();
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonReport.Render(report));
        File.WriteAllText(Path.Combine(folder, "report.md"), MarkdownReport.Render(report));
        File.WriteAllText(Path.Combine(folder, "report.html"), HtmlReport.Render(report));
        var p = TestContext.Progress;
        p.WriteLine($"Certification: {(report.Certified ? "CERTIFIED" : "NOT CERTIFIED")} — {settings.Device} against virtio {report.SpecVersion}; " +
            $"MUST failures: {Count(report.MustFailures)}, known findings: {Count(report.KnownFindings)}, SHOULD warnings: {Count(report.ShouldWarnings)}, " +
            $"robustness findings: {Count(report.RobustnessFindings)}");
        foreach (var c in report.Coverage)
            p.WriteLine($"Requirement coverage, {c.Group}: {c.Covered}/{c.Statements} ({c.Percent}%)");
        p.WriteLine($"Report: {Path.Combine(folder, "report.html")} (and report.json, report.md)");
    }

    private static string Count(IReadOnlyList<string> ids) => ids.Count == 0 ? "0" : $"{ids.Count} ({string.Join(", ", ids)})";

    /// <summary>What the device says it is, read afresh; a device that cannot be reached any more says why.</summary>
    private static IReadOnlyDictionary<string, string> Identify(SuiteContext ctx)
    {
        var identity = new SortedDictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var s = ctx.Open();
            foreach (var (k, v) in s.Device.Identity) identity[k] = v;
            s.Driver.BeginNegotiation();
            identity["offered features"] = $"0x{s.Driver.Offered.Low64:x} {s.Driver.Offered}";
            var negotiated = NetDriver.DefaultRequest.Intersect(s.Driver.Offered);
            identity["negotiated features (suite's request)"] = $"0x{negotiated.Low64:x} {negotiated}";
            identity["max_virtqueue_pairs (config space)"] = s.Driver.MaxPairs.ToString(System.Globalization.CultureInfo.InvariantCulture);
            s.Driver.Reset();
        }
        catch (Exception e)
        {
            identity["unreachable at report time"] = e.Message;
        }
        return identity;
    }

    private static string ReportFolder()
    {
        var configured = Environment.GetEnvironmentVariable(ReportDirVariable) is { Length: > 0 } v ? v : TestContext.Parameters.Get("report-dir");
        if (!string.IsNullOrWhiteSpace(configured)) return Path.GetFullPath(configured);
        // dotnet test runs from bin/; the report belongs next to the sources, where CI collects TestResults.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Conformance.sln"))) return Path.Combine(dir.FullName, "TestResults", "conformance");
        return Path.GetFullPath(Path.Combine("TestResults", "conformance"));
    }

    private static string SuiteVersion()
    {
        var v = typeof(CertificationReportWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        return v.Split('+')[0];
    }

    /// <summary>The commit the suite was built from: the SDK appends it to the informational version in a git checkout.</summary>
    private static string SuiteCommit()
    {
        var v = typeof(CertificationReportWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        return v.Contains('+') ? v.Split('+', 2)[1] : "unknown";
    }
}
