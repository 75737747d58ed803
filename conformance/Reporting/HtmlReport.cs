using System.Net;
using System.Text;

namespace VirtioMq.Conformance.Reporting;

/// <summary>report.html: one self-contained page (inline style, no script, no external link) for browsers and CI artifact viewers.</summary>
public static class HtmlReport
{
    private const string Style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f23}
        h1{font-size:1.6rem} h2{margin-top:2rem;border-bottom:1px solid #ddd}
        .badge{display:inline-block;padding:.2rem .7rem;border-radius:.3rem;color:#fff;font-weight:600}
        .ok{background:#1a7f37}.bad{background:#cf222e}
        table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
        th{background:#f6f8fa} tr.fail td{background:#ffebe9} tr.known-finding td{background:#fff8c5} tr.pass td:nth-child(5){color:#1a7f37}
        code,pre{font-family:ui-monospace,monospace;font-size:12px} pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap}
        dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem} dt{font-weight:600}
        """;

    public static string Render(CertificationReport r)
    {
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>virtio-net MQ conformance: ")
            .Append(E(r.Device)).Append("</title><style>").Append(Style).Append("</style></head><body>");
        var driverRun = r.RunKind == RunKind.Driver;
        h.Append(driverRun ? "<h1>virtio-net multiqueue driver conformance <span class=\"badge " : "<h1>virtio-net multiqueue conformance <span class=\"badge ").Append(r.Certified ? "ok\">CERTIFIED" : "bad\">NOT CERTIFIED").Append("</span>")
            .Append(r.Complete ? "" : " <span class=\"badge bad\">INCOMPLETE</span>").Append("</h1>");
        h.Append("<dl>");
        if (driverRun) Item(h, "run", "<strong>driver run</strong>: judged from what the device recorded; device rules are not judged");
        Item(h, driverRun ? "driver" : "device", $"<code>{E(r.Device)}</code>");
        Item(h, "certified against", E($"virtio {r.SpecVersion} (and the vhost-user protocol for vhost-user rules)"));
        Item(h, "suite", E($"{r.SuiteVersion} ({r.SuiteCommit}), run {r.RunDate:yyyy-MM-dd HH:mm} UTC"));
        if (r.NotCertifiedBecause.Count > 0)
            Item(h, "not certified because", string.Join("<br>", r.NotCertifiedBecause.Select(b => E(b.Text + (b.Expected ? " (expected)" : "")))));
        Item(h, "MUST failures", E(List(r.MustFailures)));
        Item(h, "known findings", E(List(r.KnownFindings)));
        Item(h, "SHOULD warnings", E(List(r.ShouldWarnings)));
        Item(h, "robustness findings", E(List(r.RobustnessFindings)));
        Item(h, "coverage", E(string.Join("; ", r.Coverage.Select(c => $"{c.Group} {c.Covered}/{c.Statements} ({c.Percent}%)"))));
        h.Append("</dl><p><small>").Append(E(r.VerdictRule)).Append("</small></p>");
        h.Append(driverRun ? "<h2>Driver and device</h2><table>" : "<h2>Device</h2><table>")
            .Append("<tr><th>property</th><th>value</th></tr>");
        foreach (var (k, v) in r.DeviceIdentity) h.Append("<tr><td>").Append(E(k)).Append("</td><td>").Append(E(v)).Append("</td></tr>");
        h.Append("</table>");
        foreach (var f in r.Requirements.Where(q => q.Verdict is Verdict.Fail or Verdict.KnownFinding))
        {
            h.Append("<h2>").Append(E($"{f.Id} — {ReportBuilder.Kebab(f.Verdict.ToString())}")).Append("</h2><p>")
                .Append(E($"{f.Level}, §{f.Section}: {f.Title}")).Append("</p><p>").Append(E(f.Why ?? "")).Append("</p>");
            if (f.Counterexample is { } c) h.Append("<p>Shrunk counterexample:</p><pre>").Append(E(c)).Append("</pre>");
            if (f.Replay is { } rp) h.Append("<p>Replay:</p><pre>").Append(E(rp)).Append("</pre>");
        }
        foreach (var group in r.Requirements.GroupBy(MarkdownReport.SectionFamily))
        {
            h.Append("<h2>").Append(E(group.Key)).Append("</h2><table><tr><th>requirement</th><th>level</th><th>actor</th><th>§</th><th>verdict</th><th>rings</th><th>checked by</th><th>why</th></tr>");
            foreach (var q in group)
            {
                var verdict = ReportBuilder.Kebab(q.Verdict.ToString());
                h.Append("<tr class=\"").Append(verdict).Append("\"><td><code>").Append(E(q.Id)).Append("</code><br>").Append(E(q.Title)).Append("</td><td>")
                    .Append(E(q.Level)).Append("</td><td>").Append(E(q.Actor)).Append("</td><td>").Append(E(q.Section)).Append("</td><td>")
                    .Append(verdict).Append("</td><td>").Append(E(string.Join(", ", q.Rings))).Append("</td><td>").Append(E(string.Join(", ", q.Tests))).Append("</td><td>").Append(E(q.Why ?? "")).Append("</td></tr>");
            }
            h.Append("</table>");
        }
        return h.Append("</body></html>\n").ToString();
    }

    private static void Item(StringBuilder h, string term, string html) => h.Append("<dt>").Append(E(term)).Append("</dt><dd>").Append(html).Append("</dd>");
    private static string List(IReadOnlyList<string> ids) => ids.Count == 0 ? "none" : string.Join(", ", ids);
    private static string E(string s) => WebUtility.HtmlEncode(s);
}
