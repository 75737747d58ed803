// Appends one row to the score table of docs/mutation-testing.md from a Stryker.NET JSON report, so the table is
// written by the run that measured it (mutation/run.sh calls this when Stryker ends), never pasted by hand.
//   dotnet run mutation/ScoreRow.cs -- REPORT.json DOC.md LABEL ELAPSED_SECONDS
// The table sits between <!-- mutation:scores:begin --> and <!-- mutation:scores:end -->; rows are kept, the new one last.
using System.Globalization;
using System.Text.Json;

if (args.Length != 4)
{
    Console.Error.WriteLine("usage: dotnet run mutation/ScoreRow.cs -- REPORT.json DOC.md LABEL ELAPSED_SECONDS");
    return 2;
}
var (reportPath, docPath, label) = (args[0], args[1], args[2]);
var elapsed = TimeSpan.FromSeconds(double.Parse(args[3], CultureInfo.InvariantCulture));

// Stryker's mutation-testing-elements report: files -> mutants, each with a status.
using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
var counts = new Dictionary<string, int>();
foreach (var file in report.RootElement.GetProperty("files").EnumerateObject())
    foreach (var mutant in file.Value.GetProperty("mutants").EnumerateArray())
    {
        var status = mutant.GetProperty("status").GetString() ?? "?";
        counts[status] = counts.GetValueOrDefault(status) + 1;
    }
int N(string s) => counts.GetValueOrDefault(s);
// Stryker's score: detected (killed, timeout) over detected and undetected (survived, no coverage); compile errors
// and ignored mutants are outside it.
var detected = N("Killed") + N("Timeout");
var valid = detected + N("Survived") + N("NoCoverage");
var score = valid == 0 ? 0 : 100.0 * detected / valid;
var row = string.Create(CultureInfo.InvariantCulture,
    $"| {label} | {score:0.00} % | {N("Killed")} | {N("Timeout")} | {N("Survived")} | {N("NoCoverage")} | {N("CompileError") + N("RuntimeError")} | {N("Ignored")} | {(int)elapsed.TotalMinutes} min |");

var doc = File.ReadAllText(docPath);
const string End = "<!-- mutation:scores:end -->";
var at = doc.IndexOf(End, StringComparison.Ordinal);
if (at < 0 || !doc.Contains("<!-- mutation:scores:begin -->", StringComparison.Ordinal))
{
    Console.Error.WriteLine($"{docPath} has no <!-- mutation:scores:begin --> ... {End} section");
    return 1;
}
File.WriteAllText(docPath, doc[..at] + row + "\n" + doc[at..]);
Console.WriteLine(row);
return 0;
