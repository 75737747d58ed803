using System.Text.Json;

namespace VirtioMq.Conformance.Reporting;

/// <summary>One check as report.json has it: enough to keep an expected-results file current.</summary>
public sealed record ReportedCheck(string Test, string? Ring, string Outcome, string? Violated, string? Note);

/// <summary>A line the rewrite removed or added, and why.</summary>
public sealed record ExpectedChange(bool Added, string Line, string Why)
{
    public override string ToString() => $"{(Added ? "+" : "-")} {Line}    ({Why})";
}

/// <summary>
/// Keeps an expected-results file (<see cref="Infrastructure.KnownFindings"/>) current from the report of the last run, the way
/// protobuf's conformance runner rewrites its failure list: a check that failed a MUST and is not listed gets a line
/// with the rule it broke (limited to the format it failed in, when it passed in the other); a listed check that
/// passed, or now fails naming another rule, loses its line. Everything else stays as written, comments included: intermittent lines, lines
/// for any test (<c>*</c>), known findings, warnings (they never deny certification) and suite errors (a bug of the
/// suite is never filed against the device).
/// </summary>
public static class ExpectedRewrite
{
    public static IReadOnlyList<ReportedCheck> ChecksOf(string reportJson)
    {
        using var doc = JsonDocument.Parse(reportJson);
        if (!doc.RootElement.TryGetProperty("checks", out var checks) || checks.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException("the report has no \"checks\" array: is it a report.json of this suite?");
        return [.. checks.EnumerateArray().Select(c => new ReportedCheck(
            c.GetProperty("test").GetString() ?? "", Text(c, "ring"), c.GetProperty("outcome").GetString() ?? "", Text(c, "violated"), Text(c, "note")))];
    }

    private static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>The file's new lines and what changed, from its current <paramref name="lines"/> and the last run's <paramref name="checks"/>.</summary>
    public static (IReadOnlyList<string> Lines, IReadOnlyList<ExpectedChange> Changes) Rewrite(IReadOnlyList<string> lines, IReadOnlyList<ReportedCheck> checks)
    {
        var kept = new List<string>();
        var changes = new List<ExpectedChange>();
        var listed = lines.Select(Parse).Where(l => l is not null).Select(l => l!).ToList();
        foreach (var line in lines)
        {
            if (Parse(line) is { Intermittent: false } entry && entry.Test != "*")
            {
                var mine = checks.Where(c => c.Test == entry.Test && (entry.Ring is null || entry.Ring == c.Ring)).ToList();
                var passes = mine.Where(c => c.Outcome == "unexpected-pass").ToList();
                var stillFails = mine.Any(c => c.Outcome == "known-finding" && c.Violated == entry.Rule);
                var otherRule = mine.FirstOrDefault(c => c.Outcome == "failed" && c.Violated != entry.Rule);
                if (!stillFails && (passes.Count > 0 || otherRule is not null))
                {
                    changes.Add(new ExpectedChange(false, line.Trim(), otherRule is not null
                        ? $"now fails naming {otherRule.Violated} instead"
                        : $"passed in {string.Join(" and ", passes.Select(p => p.Ring ?? "every format"))}"));
                    continue;
                }
                if (passes.Count > 0 && entry.Ring is null && stillFails)
                {
                    // Listed for every format, known in one, passing in the other: the line narrows to the format it still fails in.
                    var failing = mine.First(c => c.Outcome == "known-finding" && c.Violated == entry.Rule).Ring;
                    var narrowed = $"{entry.Test} {entry.Rule} {failing}{Comment(line)}";
                    changes.Add(new ExpectedChange(false, line.Trim(), $"passed in {passes[0].Ring}"));
                    changes.Add(new ExpectedChange(true, narrowed, $"still fails in {failing}"));
                    kept.Add(narrowed);
                    continue;
                }
            }
            kept.Add(line);
        }
        var added = new List<string>();
        foreach (var group in checks.Where(c => c.Outcome == "failed" && c.Violated is not null).GroupBy(c => (c.Test, c.Violated)))
        {
            var (test, rule) = group.Key;
            var rings = group.Select(c => c.Ring).Distinct().ToList();
            // Both formats failed (or the check has no format): one line for all; else only the format it failed in.
            var passedElsewhere = checks.Any(c => c.Test == test && c.Outcome is "passed" or "unexpected-pass" or "not-applicable" && !rings.Contains(c.Ring));
            var ring = rings.Count == 1 && rings[0] is { } r && passedElsewhere ? $" {r}" : "";
            if (listed.Any(l => l.Test == test && l.Rule == rule && (l.Ring is null || ring.Trim() == l.Ring))) continue;
            var why = group.First().Note is { } note ? Shorten(note) : "failed in the last run";
            var line = $"{test} {rule}{ring}  # {why}";
            added.Add(line);
            changes.Add(new ExpectedChange(true, line, $"failed {rule}{(ring.Length > 0 ? $" in {ring.Trim()}" : "")}"));
        }
        if (added.Count > 0)
        {
            if (kept.Count > 0 && kept[^1].Trim().Length > 0) kept.Add("");
            kept.AddRange(added);
        }
        return (kept, changes);
    }

    private sealed record Entry(string Test, string Rule, string? Ring, bool Intermittent);

    private static Entry? Parse(string line)
    {
        var words = line.Split('#', 2)[0].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
        if (words.Count < 2) return null;
        var ring = words.Skip(2).FirstOrDefault(w => w is "split" or "packed");
        return new Entry(words[0], words[1], ring, words.Skip(2).Contains("intermittent"));
    }

    private static string Comment(string line) => line.Split('#', 2) is [_, var c] ? $"  #{c}" : "";

    /// <summary>The first sentence of a failure message, within a line's reach.</summary>
    private static string Shorten(string note)
    {
        var first = note.Split('\n')[0].Trim();
        return first.Length <= 140 ? first : first[..137] + "...";
    }
}
