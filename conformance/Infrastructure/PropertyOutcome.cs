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
}
