using System.Net;
using System.Text;

namespace VirtioMq.Conformance.Reporting;

/// <summary>matrix.html: the interop matrix as one self-contained page (inline style, no script), for CI artifacts and README's picture.</summary>
public static class MatrixHtml
{
    private const string Style = """
        body{font:13px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1f23}
        h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
        table{border-collapse:collapse} td,th{border:1px solid #d0d7de;padding:.2rem .45rem;text-align:left;vertical-align:top}
        thead th{position:sticky;top:0;background:#f6f8fa;z-index:1} th.dev{width:6.5rem;font-size:12px} td.req{width:20rem} td.lvl{width:6rem}
        tr.chapter th{background:#eaeef2;text-align:left}
        td.pass{background:#dafbe1} td.fail{background:#ffcecb} td.known-finding{background:#fff8c5} td.warn{background:#ffe2bf}
        td.not-applicable,td.not-covered,td.absent{color:#6e7781;background:#f6f8fa}
        td a{color:inherit} .lvl{color:#57606a;font-size:11px} .ok{color:#1a7f37;font-weight:600} .bad{color:#cf222e;font-weight:600}
        code,pre{font-family:ui-monospace,monospace;font-size:12px} pre{background:#f6f8fa;padding:.5rem;white-space:pre-wrap}
        """;

    public static string Render(InteropMatrix m)
    {
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>virtio-net multiqueue interop matrix</title><style>")
            .Append(Style).Append("</style></head><body><h1>virtio-net multiqueue conformance: interop matrix</h1>");
        h.Append("<p>").Append(E($"virtio {m.SpecVersion}, built {m.Built:yyyy-MM-dd HH:mm} UTC from {m.Devices.Count} report(s). " +
            $"{m.Rows.Count} requirements judged on at least one device; {m.HiddenRows} more were judged on none and are not shown. " +
            "A known finding is a failure the device's expected-results file lists; a failed SHOULD or robustness rule (orange) only warns.")).Append("</p>");
        h.Append("<table><thead><tr><th>requirement</th><th>level, §</th>");
        foreach (var d in m.Devices)
            h.Append("<th class=\"dev\">").Append(E(d.Name)).Append("<br><span class=\"").Append(d.Certified ? "ok\">CERTIFIED" : "bad\">NOT CERTIFIED")
                .Append("</span>").Append(d.Complete ? "" : " <span class=\"bad\">INCOMPLETE</span>").Append("</th>");
        h.Append("</tr></thead><tbody>");
        foreach (var chapter in m.Rows.GroupBy(r => r.Chapter))
        {
            h.Append("<tr class=\"chapter\"><th colspan=\"").Append(2 + m.Devices.Count).Append("\">").Append(E(chapter.Key)).Append("</th></tr>");
            foreach (var r in chapter)
            {
                h.Append("<tr><td class=\"req\"><code>").Append(E(r.Id)).Append("</code><br>").Append(E(r.Title)).Append("</td><td class=\"lvl\">")
                    .Append(E(r.Level)).Append(", ").Append(E(r.Actor)).Append("<br>§").Append(E(r.Section)).Append("</td>");
                for (var i = 0; i < r.Cells.Count; i++) CellHtml(h, r.Cells[i], Anchor(i, r.Id), Binding(r.Level));
                h.Append("</tr>");
            }
        }
        h.Append("</tbody></table>");
        h.Append("<h2>Devices</h2><table><tr><th>column</th><th>device</th><th>suite</th><th>run</th><th>not certified because</th></tr>");
        foreach (var d in m.Devices)
            h.Append("<tr><td>").Append(E(d.Name)).Append("</td><td><code>").Append(E(d.Device)).Append("</code></td><td>").Append(E(d.SuiteCommit))
                .Append("</td><td>").Append(E($"{d.RunDate:yyyy-MM-dd HH:mm}")).Append("</td><td>")
                .Append(string.Join("<br>", d.NotCertifiedBecause.Select(E))).Append("</td></tr>");
        h.Append("</table><h2>Failures</h2>");
        foreach (var r in m.Rows)
            for (var i = 0; i < r.Cells.Count; i++)
            {
                if (r.Cells[i] is not { Verdict: Verdict.Fail or Verdict.KnownFinding } c) continue;
                h.Append("<h3 id=\"").Append(Anchor(i, r.Id)).Append("\">").Append(E($"{m.Devices[i].Name}: {r.Id} — {ReportBuilder.Kebab(c.Verdict.ToString())}"))
                    .Append("</h3><p>").Append(E($"{r.Level}, §{r.Section}: {r.Title}. Checked by {string.Join(", ", c.Tests)}" +
                        (c.Rings.Count > 0 ? $" ({string.Join(", ", c.Rings)})." : "."))).Append("</p>");
                if (c.Why is { } why) h.Append("<p>").Append(E(why)).Append("</p>");
                if (c.Counterexample is { } ce) h.Append("<p>Counterexample:</p><pre>").Append(E(ce)).Append("</pre>");
                if (c.Replay is { } rp) h.Append("<p>Replay:</p><pre>").Append(E(rp)).Append("</pre>");
            }
        return h.Append("</body></html>\n").ToString();
    }

    /// <summary>Whether a failure of this level denies certification; SHOULDs and robustness expectations only warn.</summary>
    private static bool Binding(string level) => level is "MUST" or "MUST NOT" or "DEFINITION";

    private static void CellHtml(StringBuilder h, MatrixCell? c, string anchor, bool binding)
    {
        if (c is null)
        {
            h.Append("<td class=\"absent\">—</td>");
            return;
        }
        var verdict = ReportBuilder.Kebab(c.Verdict.ToString());
        var style = c.Verdict == Verdict.Fail && !binding ? "warn" : verdict;
        var rings = c.Verdict is Verdict.Pass or Verdict.Fail or Verdict.KnownFinding && c.Rings.Count > 0 ? $" <span class=\"lvl\">{E(string.Join("+", c.Rings))}</span>" : "";
        h.Append("<td class=\"").Append(style).Append('"').Append(c.Why is { } why ? $" title=\"{E(why)}\"" : "").Append('>');
        if (c.Verdict is Verdict.Fail or Verdict.KnownFinding) h.Append("<a href=\"#").Append(anchor).Append("\">").Append(verdict).Append("</a>");
        else h.Append(verdict);
        h.Append(rings).Append("</td>");
    }

    private static string Anchor(int column, string id) => $"d{column}-{id.Replace('.', '-')}";
    private static string E(string s) => WebUtility.HtmlEncode(s);
}
