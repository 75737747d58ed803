using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>What one property run found: how many cases, and for a failure the rule, the shrunk case and the seed.</summary>
public sealed record PropertyOutcome(
    string Name,
    bool Passed,
    int Cases,
    int Shrinks,
    (ulong Seed, ulong Gamma) Seed,
    Violation? Violation,
    string? ShrunkCase,
    string? OriginalCase,
    string? Error)
{
    public string SeedText => $"({Seed.Seed},{Seed.Gamma})";

    /// <summary>Cases that judged at least one rule (see <see cref="ThisCase"/>).</summary>
    public int JudgedCases { get; init; }

    /// <summary>Cases that judged nothing, by the reason they gave.</summary>
    public IReadOnlyDictionary<string, int> NotApplicable { get; init; } = new Dictionary<string, int>();

    /// <summary>
    /// Every case ran to its end although the outcome is not a pass: the violation is a SHOULD noted on the way, and the
    /// other rules the check names were judged in every case.
    /// </summary>
    public bool Completed { get; init; }

    /// <summary>What the runner did differently from a plain run: a budget cut the cases or the shrinking short.</summary>
    public string? Note { get; init; }

    /// <summary>The reasons given by cases that judged nothing, most frequent first.</summary>
    public string NotApplicableText =>
        string.Join("; ", NotApplicable.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} ({kv.Value} case(s))"));
}
