using VirtioMq.Conformance.Reporting;

// The suite's commands that need no device. One so far:
//   dotnet run --project conformance/Tool -- expected REPORT FILE [--dry-run]
// rewrites the expected-results FILE from the report.json of the last run and prints what changed.
const string Usage = "usage: dotnet run --project conformance/Tool -- expected REPORT.json EXPECTED.txt [--dry-run]";
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
    // Written whole to a neighbour and renamed over, so an interrupted write never leaves half a file.
    var temporary = expectedPath + ".tmp";
    File.WriteAllLines(temporary, lines);
    File.Move(temporary, expectedPath, overwrite: true);
    Console.WriteLine($"{changes.Count} change(s) written to {expectedPath}");
}
return 0;
