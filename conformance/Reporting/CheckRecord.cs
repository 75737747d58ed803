namespace VirtioMq.Conformance.Reporting;

/// <summary>How one conformance test ended.</summary>
public enum CheckOutcome
{
    Passed,
    /// <summary>Broke a MUST-level rule: a failed test and, unless listed as known, a failed run.</summary>
    Failed,
    /// <summary>Broke a SHOULD or robustness expectation: reported, but certification stands.</summary>
    Warning,
    /// <summary>Failed as an expected-results file says it would.</summary>
    KnownFinding,
    /// <summary>Did not run: the rule does not exist in the certified version, or the device is of another kind.</summary>
    NotApplicable,
}

/// <summary>What the report keeps of one conformance test: its rules, the plane it judged, and how it ended.</summary>
public sealed record CheckRecord(
    string Test,
    string Fixture,
    IReadOnlyList<string> Requirements,
    string Checked,
    CheckOutcome Outcome,
    int Cases,
    string? Seed,
    string? ViolatedRequirement = null,
    string? Message = null,
    string? ShrunkCase = null,
    string? Replay = null,
    string? Reason = null);
