using System.Reflection;

namespace VirtioMq.Conformance.Reporting;

/// <summary>
/// Where the report of a run goes (VIRTIO_REPORT_DIR or the report-dir parameter; by default TestResults/conformance/
/// at the repository root) and how it is written: each file whole, to a temporary name first and then renamed, so a
/// run killed in the middle of a write still leaves the previous complete file.
/// </summary>
public static class ReportFiles
{
    public const string ReportDirVariable = "VIRTIO_REPORT_DIR";

    public static string Folder()
    {
        var configured = Environment.GetEnvironmentVariable(ReportDirVariable) is { Length: > 0 } v ? v : TestContext.Parameters.Get("report-dir");
        if (!string.IsNullOrWhiteSpace(configured)) return Path.GetFullPath(configured);
        // dotnet test runs from bin/; the report belongs next to the sources, where CI collects TestResults.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Conformance.sln"))) return Path.Combine(dir.FullName, "TestResults", "conformance");
        return Path.GetFullPath(Path.Combine("TestResults", "conformance"));
    }

    public static void Write(CertificationReport report)
    {
        var folder = Folder();
        Directory.CreateDirectory(folder);
        Replace(Path.Combine(folder, "report.json"), JsonReport.Render(report));
        Replace(Path.Combine(folder, "report.md"), MarkdownReport.Render(report));
        Replace(Path.Combine(folder, "report.html"), HtmlReport.Render(report));
    }

    /// <summary>Writes <paramref name="text"/> whole to <paramref name="path"/> or not at all: to a neighbour, then renamed over.</summary>
    public static void Replace(string path, string text)
    {
        var temporary = path + ".partial";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    public static string SuiteVersion()
    {
        var v = typeof(ReportFiles).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        return v.Split('+')[0];
    }

    /// <summary>The commit the suite was built from: the SDK appends it to the informational version in a git checkout.</summary>
    public static string SuiteCommit()
    {
        var v = typeof(ReportFiles).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        return v.Contains('+') ? v.Split('+', 2)[1] : "unknown";
    }
}
