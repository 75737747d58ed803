using System.Text;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Reference.Zoo;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>The zoo's catalogue (reference/Zoo/BugZoo.cs) as the Markdown table docs/bug-zoo.md shows.</summary>
public static class ZooCatalogueTable
{
    public static string Markdown(IEnumerable<ZooVariant> variants)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| variant | the bug | caught by | where | rings | source |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var v in variants)
        {
            var rules = new[] { v.DeviceRule, v.BackendRule }.OfType<string>().Distinct();
            var where = (v.InProcessDevice, v.Backend) switch { (true, true) => "both", (true, false) => "device", _ => "back-end" };
            var rings = string.Join(", ", v.Formats.Select(f => f.Label()));
            sb.AppendLine($"| `{v.Name}` | {v.Source.What} | {string.Join(", ", rules)} | {where} | {rings} | {(v.Source.IsSynthetic ? "synthetic" : $"{v.Source.Project} {v.Source.Reference}")} |");
        }
        return sb.ToString();
    }
}
