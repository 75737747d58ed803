using System.Text;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>Turns a failed property into the message a device vendor reads: rule, section, case, seed, replay.</summary>
public static class FailureReport
{
    public static string Format(PropertyOutcome o, SuiteSettings settings, string testFilter, RingFormat? ring = null)
    {
        var text = new StringBuilder();
        if (o.Violation is { } v)
        {
            var r = RequirementCatalogue.Default.Contains(v.RequirementId) ? RequirementCatalogue.Default.Get(v.RequirementId) : null;
            var level = r is null ? "?" : r.Level == Level.Robustness ? "ROBUSTNESS expectation, not a spec MUST" : LevelText(r.Level);
            text.AppendLine($"[{v.RequirementId}] {level} ({r?.Actor.ToString().ToLowerInvariant() ?? "?"}) — {r?.Cite(settings.Version) ?? "?"}: {r?.Title ?? "(not in the catalogue)"}");
            text.AppendLine($"  {v.Message}");
        }
        else
        {
            text.AppendLine($"[no requirement] the check itself failed: {o.Error}");
        }
        if (o.ShrunkCase is not null)
        {
            text.AppendLine($"Shrunk counterexample (found after {o.Cases} case(s), {o.Shrinks} shrink(s)):");
            foreach (var line in o.ShrunkCase.Split(Environment.NewLine)) text.AppendLine("  " + line);
        }
        text.AppendLine($"Seed: {o.SeedText}");
        text.AppendLine($"Device: {settings.Device}");
        if (ring is { } format) text.AppendLine($"Virtqueue format: {format.Label()}");
        text.Append($"Replay: {ReplayCommand(o, settings, testFilter, ring)}");
        return text.ToString();
    }

    public static string ReplayCommand(PropertyOutcome o, SuiteSettings settings, string testFilter, RingFormat? ring = null) =>
        $"{SuiteSettings.DeviceVariable}='{settings.Device}' {SuiteSettings.SeedVariable}='{o.SeedText}' {SuiteSettings.CasesVariable}={settings.Cases} " +
        (ring is { } r ? $"{RingChoices.Variable}={r.Label()} " : "") +
        (settings.Version == SpecVersions.Primary ? "" : $"{SuiteSettings.SpecVariable}={settings.Version.Label()} ") +
        $"dotnet test conformance --filter \"FullyQualifiedName~{testFilter}\"";

    public static string LevelText(Level level) => level switch
    {
        Level.Must => "MUST",
        Level.MustNot => "MUST NOT",
        Level.Should => "SHOULD",
        Level.ShouldNot => "SHOULD NOT",
        Level.May => "MAY",
        Level.Definition => "DEFINITION",
        _ => level.ToString().ToUpperInvariant(),
    };
}
