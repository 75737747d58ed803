namespace VirtioMq.Conformance.Reporting;

/// <summary>The verdict on one requirement of the catalogue. Serialised in kebab-case in report.json.</summary>
public enum Verdict
{
    Pass,
    Fail,
    KnownFinding,
    NotApplicable,
    NotCovered,
}

public sealed record RequirementResult(
    string Id,
    string Level,
    string Actor,
    string Source,
    string Section,
    string Title,
    Verdict Verdict,
    IReadOnlyList<string> Tests,
    string? Checked,
    string? Why,
    string? Counterexample,
    string? Replay);

public sealed record CheckSummary(string Test, string Outcome, int Cases, string? Seed, string Checked, IReadOnlyList<string> Requirements,
    string? Violated, string? Replay);

public sealed record Coverage(string Group, int Statements, int Covered)
{
    public double Percent => Statements == 0 ? 100 : Math.Round(100.0 * Covered / Statements, 1);
}

/// <summary>What a run judged: a device (the suite is the driver), or a driver (a device recorded what it did).</summary>
public enum RunKind
{
    Device,
    Driver,
}

/// <summary>Everything report.json holds; report.md and report.html are views of the same object.</summary>
public sealed record CertificationReport(
    string Schema,
    RunKind RunKind,
    string SuiteVersion,
    string SuiteCommit,
    string SpecVersion,
    string Device,
    IReadOnlyDictionary<string, string> DeviceIdentity,
    DateTimeOffset RunDate,
    bool Certified,
    string VerdictRule,
    IReadOnlyList<string> MustFailures,
    IReadOnlyList<string> KnownFindings,
    IReadOnlyList<string> ShouldWarnings,
    IReadOnlyList<string> RobustnessFindings,
    IReadOnlyList<Coverage> Coverage,
    IReadOnlyList<CheckSummary> Checks,
    IReadOnlyList<RequirementResult> Requirements);
