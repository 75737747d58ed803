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
    string? Replay)
{
    /// <summary>The virtqueue formats in which a check judged the rule (passed it, or found it broken).</summary>
    public IReadOnlyList<string> Rings { get; init; } = [];
}

public sealed record CheckSummary(string Test, string? Ring, string Outcome, int Cases, string? Seed, string Checked, IReadOnlyList<string> Requirements,
    string? Violated, string? Replay, string? Note = null);

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

/// <summary>
/// One reason a device is not certified. <see cref="Expected"/>: an expected-results file lists it, so the run still
/// passes; every other reason fails `dotnet test`, which is how the exit code and the verdict stay one.
/// </summary>
/// <param name="Kind">must-failure, known-finding, unjudged, suite-error, not-run, incomplete, unreachable, no-multiqueue,
/// strict-warning, untracked-failure, partial-run.</param>
public sealed record Blocker(string Kind, string? Requirement, string Text, bool Expected = false);

/// <summary>What the run itself knew beyond its checks: whether it ended, what the device offers, how strict it was.</summary>
/// <param name="Complete">False while checks are still running, or when the run was interrupted: the report is partial.</param>
/// <param name="MultiqueueOffered">Whether the device offers VIRTIO_NET_F_MQ; null when it was never read.</param>
/// <param name="Unreachable">Why the device or the settings could not be used at all, if so.</param>
/// <param name="UntrackedFailures">Tests that failed without a check record (outside Suite.Verify): each is a suite bug.</param>
/// <param name="UnreachableRule">When the device could be reached but broke a rule on the way in (no REPLY_ACK to the
/// first request), that rule: the run stops there, and the verdict names it as a failure.</param>
/// <param name="Selection">The rules a partial run was limited to (VIRTIO_RULES), as written; null for a whole run.</param>
public sealed record RunConditions(bool Complete = true, bool? MultiqueueOffered = null, string? Unreachable = null, bool Strict = false,
    int UntrackedFailures = 0, string? UnreachableRule = null, string? Selection = null);

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
    bool Complete,
    IReadOnlyList<Blocker> NotCertifiedBecause,
    IReadOnlyList<string> Unexpected,
    bool RunFails,
    string VerdictRule,
    IReadOnlyList<string> MustFailures,
    IReadOnlyList<string> KnownFindings,
    IReadOnlyList<string> ShouldWarnings,
    IReadOnlyList<string> RobustnessFindings,
    IReadOnlyList<Coverage> Coverage,
    IReadOnlyList<CheckSummary> Checks,
    IReadOnlyList<RequirementResult> Requirements);
