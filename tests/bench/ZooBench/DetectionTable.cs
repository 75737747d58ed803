using System.Globalization;
using System.Text;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Reference.Zoo;
using VirtioMq.Tests.FaultDetection;

namespace VirtioMq.Bench.Zoo;

/// <summary>One check's run against one variant: its outcome, when its first failing case ended, and when it ended (shrinking included).</summary>
public sealed record CheckRun(string Test, PropertyOutcome Outcome, TimeSpan ToFirstFailure, TimeSpan Elapsed);

/// <summary>
/// What the suite made of one variant in one plane. "Cases" are FsCheck cases until the first failing one (that one
/// included); "time" is the detecting check's run until that case ended, and "verdict" until it reported, shrinking included.
/// </summary>
public sealed record DetectionRow(string Variant, ZooPlane Plane, string Rule, string Source, bool Detected, string? By, int? Cases, TimeSpan? Time,
    TimeSpan? Verdict, IReadOnlyList<string> OtherRules, int ChecksRun, TimeSpan AllChecks)
{
    public static DetectionRow Of(ZooVariant v, ZooPlane plane, string rule, IReadOnlyList<CheckRun> runs)
    {
        var hit = runs.FirstOrDefault(r => r.Outcome.Violation?.RequirementId == rule);
        var others = runs.Where(r => !r.Outcome.Passed && r.Outcome.Violation?.RequirementId != rule)
            .Select(r => r.Outcome.Violation?.RequirementId ?? "error").Distinct().Order().ToList();
        return new DetectionRow(v.Name, plane, rule, v.Source.ToString(), hit is not null, hit?.Test, hit?.Outcome.Cases, hit?.ToFirstFailure, hit?.Elapsed, others,
            runs.Count, TimeSpan.FromTicks(runs.Sum(r => r.Elapsed.Ticks)));
    }
}

public static class DetectionTable
{
    private static string Seconds(TimeSpan? t) => t switch
    {
        null => "-",
        { TotalSeconds: < 1 } x => x.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms",
        { } x => x.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s",
    };

    public static string Markdown(IReadOnlyList<DetectionRow> rows, TimeSpan total, TimeSpan timeout, int? maxShrinks)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| variant | plane | requirement | detected | cases needed | time to detect | verdict (shrunk) | caught by | other rules failed | source |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            sb.Append(c, $"| `{r.Variant}` | {(r.Plane == ZooPlane.Device ? "device" : "back-end")} | {r.Rule} | {(r.Detected ? "yes" : "**no**")} | ");
            sb.Append(c, $"{(r.Cases is { } n ? n.ToString(c) : "-")} | {Seconds(r.Time)} | {Seconds(r.Verdict)} | {r.By ?? "-"} | ");
            sb.AppendLine(c, $"{(r.OtherRules.Count == 0 ? "-" : string.Join(", ", r.OtherRules))} | {r.Source} |");
        }
        var caught = rows.Count(r => r.Detected);
        sb.AppendLine();
        sb.AppendLine(c, $"{caught} of {rows.Count} variant-plane pairs detected naming their rule; {rows.Sum(r => r.ChecksRun)} check runs in {total.TotalSeconds:0} s " +
            $"(suite timeout {timeout.TotalMilliseconds:0} ms, default case counts, {(maxShrinks is { } m ? $"at most {m} shrink steps" : "full shrinking")}).");
        return sb.ToString();
    }
}
