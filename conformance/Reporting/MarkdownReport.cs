using System.Text;

namespace VirtioMq.Conformance.Reporting;

/// <summary>report.md: the one-screen summary first, then a table per spec section family.</summary>
public static class MarkdownReport
{
    public static string Render(CertificationReport r)
    {
        var md = new StringBuilder();
        var driverRun = r.RunKind == RunKind.Driver;
        md.AppendLine($"# virtio-net multiqueue {(driverRun ? "driver " : "")}conformance: {(r.Certified ? "CERTIFIED" : "NOT CERTIFIED")}{(r.Complete ? "" : " (INCOMPLETE: the run has not ended, or was stopped)")}");
        md.AppendLine();
        foreach (var b in r.NotCertifiedBecause) md.AppendLine($"- not certified because {b.Text}{(b.Expected && b.Kind != "partial-run" ? " (listed in the expected-results file)" : "")}");
        if (driverRun) md.AppendLine("- run: **driver run**, judged from what the device recorded; device rules are not judged");
        md.AppendLine($"- {(driverRun ? "driver" : "device")}: `{r.Device}`");
        md.AppendLine($"- certified against: virtio {r.SpecVersion} (and the vhost-user protocol for vhost-user rules)");
        md.AppendLine($"- suite: {r.SuiteVersion} ({r.SuiteCommit}), run {r.RunDate:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine($"- MUST failures: {List(r.MustFailures)}");
        md.AppendLine($"- known findings: {List(r.KnownFindings)}");
        md.AppendLine($"- SHOULD warnings: {List(r.ShouldWarnings)}");
        md.AppendLine($"- robustness findings: {List(r.RobustnessFindings)}");
        md.AppendLine($"- coverage: {string.Join("; ", r.Coverage.Select(c => $"{c.Group} {c.Covered}/{c.Statements} ({c.Percent}%)"))}");
        md.AppendLine();
        md.AppendLine($"Verdict rule: {r.VerdictRule}");
        md.AppendLine();
        md.AppendLine(driverRun ? "## Driver and device" : "## Device");
        md.AppendLine();
        md.AppendLine("| property | value |");
        md.AppendLine("|---|---|");
        foreach (var (k, v) in r.DeviceIdentity) md.AppendLine($"| {k} | {Cell(v)} |");
        var failing = r.Requirements.Where(q => q.Verdict is Verdict.Fail or Verdict.KnownFinding).ToList();
        if (failing.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("## Failures");
            foreach (var f in failing)
            {
                md.AppendLine();
                md.AppendLine($"### {f.Id} ({f.Level}, {ReportBuilder.Kebab(f.Verdict.ToString())}), §{f.Section}: {f.Title}");
                md.AppendLine();
                md.AppendLine(f.Why ?? "");
                if (f.Counterexample is { } c) md.AppendLine().AppendLine("Shrunk counterexample:").AppendLine().AppendLine("```").AppendLine(c).AppendLine("```");
                if (f.Replay is { } rp) md.AppendLine().AppendLine("Replay:").AppendLine().AppendLine("```sh").AppendLine(rp).AppendLine("```");
            }
        }
        foreach (var group in r.Requirements.GroupBy(SectionFamily))
        {
            md.AppendLine();
            md.AppendLine($"## {group.Key}");
            md.AppendLine();
            md.AppendLine("| requirement | level | actor | § | verdict | rings | checked by | why |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var q in group)
                md.AppendLine($"| {q.Id} | {q.Level} | {q.Actor} | {q.Section} | {ReportBuilder.Kebab(q.Verdict.ToString())} | {string.Join(", ", q.Rings)} | {Cell(string.Join(", ", q.Tests))} | {Cell(q.Why ?? "")} |");
        }
        return md.ToString();
    }

    /// <summary>Groups rules the way the spec's chapters do, so a reader finds "their" part at once.</summary>
    public static string SectionFamily(RequirementResult q) =>
        q.Source == "vhost-user" ? "vhost-user protocol" : q.Section.Split('.') switch
        {
            ["5", "1", ..] => "5.1 Network device",
            [var chapter, ..] when chapter.Length > 0 => $"Chapter {chapter}",
            _ => "Other",
        };

    private static string List(IReadOnlyList<string> ids) => ids.Count == 0 ? "none" : string.Join(", ", ids);

    private static string Cell(string text) => text.Replace("|", "\\|").Replace("\r", "").Replace("\n", " ");
}
