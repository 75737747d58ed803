using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Conformance.Rules;

// The suite's commands that need no device:
//   dotnet run --project conformance/Tool -- list [RULES]
// lists every check (or those naming RULES: IDs or families such as net.mq.*) with its rules, planes, formats and cases;
//   dotnet run --project conformance/Tool -- expected REPORT FILE [--dry-run]
// rewrites the expected-results FILE from the report.json of the last run and prints what changed;
//   dotnet run --project conformance/Tool -- matrix build|run ...
// writes the interop matrix of several devices' reports (MatrixCommand).
const string Usage = "usage: dotnet run --project conformance/Tool -- list [RULES]\n" +
                     "       dotnet run --project conformance/Tool -- expected REPORT.json EXPECTED.txt [--dry-run]\n" +
                     VirtioMq.Conformance.Tool.MatrixCommand.Usage;
if (args is ["matrix", "build", var matrixOut, .. var reportColumns] && reportColumns.Length > 0)
    return VirtioMq.Conformance.Tool.MatrixCommand.Build(matrixOut, reportColumns);
if (args is ["matrix", "run", var devicesFile, var runOut, .. var runRest] && runRest is [] or ["--suite", _])
    return VirtioMq.Conformance.Tool.MatrixCommand.Run(devicesFile, runOut, runRest is [_, var suite] ? suite : "conformance");
if (args is ["list", .. var patterns] && patterns.Length <= 1)
{
    RuleSelection? selection;
    try
    {
        selection = patterns.Length == 1 ? RuleSelection.Parse(patterns[0]) : null;
    }
    catch (FormatException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    var chosen = SuiteChecks.All.Where(c => selection?.Chooses(c) ?? true).ToList();
    foreach (var c in chosen) Console.WriteLine(CheckListing.Line(c));
    Console.WriteLine($"{chosen.Count} of {SuiteChecks.All.Count} checks{(selection is null ? "" : $" name {selection.Text}")}");
    return 0;
}
if (args is not ["expected", var reportPath, var expectedPath, .. var rest] || rest.Any(a => a != "--dry-run"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}
if (!File.Exists(reportPath)) { Console.Error.WriteLine($"error: no report at {reportPath} (the suite writes TestResults/conformance/report.json, or VIRTIO_REPORT_DIR)"); return 2; }
if (!File.Exists(expectedPath)) { Console.Error.WriteLine($"error: no expected-results file at {expectedPath}"); return 2; }
IReadOnlyList<ReportedCheck> checks;
try
{
    checks = ExpectedRewrite.ChecksOf(File.ReadAllText(reportPath));
}
catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or KeyNotFoundException)
{
    Console.Error.WriteLine($"error: {reportPath} is not a report of this suite: {e.Message}");
    return 2;
}
var (lines, changes) = ExpectedRewrite.Rewrite(File.ReadAllLines(expectedPath), checks);
foreach (var c in changes) Console.WriteLine(c);
if (changes.Count == 0) Console.WriteLine($"{expectedPath} already matches {reportPath}");
else if (rest.Contains("--dry-run")) Console.WriteLine($"{changes.Count} change(s); --dry-run: {expectedPath} left as it was");
else
{
    // Whole or not at all, as the reports are written: an interrupted write never leaves half a file.
    ReportFiles.Replace(expectedPath, string.Concat(lines.Select(l => l + Environment.NewLine)));
    Console.WriteLine($"{changes.Count} change(s) written to {expectedPath}");
}
return 0;
