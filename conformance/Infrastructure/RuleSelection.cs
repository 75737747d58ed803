using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// A choice of requirements by ID, the way h2spec picks a section: exact IDs (<c>net.mq.dev.rx-q1-after-reset</c>) or
/// families ending in <c>*</c> (<c>net.mq.*</c>, <c>ring.packed.*</c>), comma-separated. A check is chosen when it names
/// a chosen rule, or judges one as the packed counterpart of a rule it names (<see cref="FormatCounterparts"/>).
/// </summary>
public sealed class RuleSelection
{
    private readonly string[] _exact;
    private readonly string[] _families;

    private RuleSelection(string text, string[] exact, string[] families) => (Text, _exact, _families) = (text, exact, families);

    /// <summary>What the selection was made from, as the user wrote it.</summary>
    public string Text { get; }

    /// <exception cref="FormatException">A pattern that names no rule of the catalogue.</exception>
    public static RuleSelection Parse(string text)
    {
        var patterns = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (patterns.Length == 0) throw new FormatException("no rule ID or family given (e.g. net.mq.* or net.mq.dev.rx-q1-after-reset)");
        var ids = RequirementCatalogue.Default.All.Select(r => r.Id).ToList();
        foreach (var p in patterns)
        {
            var family = p.EndsWith('*') ? p[..^1] : null;
            if (family is not null ? !ids.Any(id => id.StartsWith(family, StringComparison.Ordinal)) : !ids.Contains(p))
                throw new FormatException($"'{p}' names no requirement of the catalogue (an exact ID, or a family such as net.mq.*)");
        }
        return new RuleSelection(text, [.. patterns.Where(p => !p.EndsWith('*'))], [.. patterns.Where(p => p.EndsWith('*')).Select(p => p[..^1])]);
    }

    public bool Matches(string requirementId) =>
        _exact.Contains(requirementId) || _families.Any(f => requirementId.StartsWith(f, StringComparison.Ordinal));

    public bool Chooses(SuiteCheck check) => FormatCounterparts.InAnyFormat(check.RequirementIds).Any(Matches);
}
