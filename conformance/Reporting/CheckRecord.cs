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
    /// <summary>
    /// Could not judge the device, through no rule of its own: the check crashed (a bug of the suite), named a rule a
    /// device cannot break, or an expected-results entry no longer holds. Denies certification: nothing was shown.
    /// </summary>
    Error,
    /// <summary>
    /// Passed, but an expected-results file lists it as a known finding: the device was fixed or the finding was luck.
    /// The rules it names count as passed; the run fails until the line is removed, so the file follows the device.
    /// </summary>
    UnexpectedPass,
    /// <summary>Never started: the device could not be reached, or the run's time budget was spent before its turn.</summary>
    NotRun,
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
    string? Reason = null)
{
    /// <summary>Ended as a warning whose cases all ran to their end: the other rules it names were judged, and held.</summary>
    public bool Completed { get; init; }

    /// <summary>The virtqueue format the check judged the device in ("split" or "packed"); null for a verdict about no ring.</summary>
    public string? Ring { get; init; }

    /// <summary>The test and, when it has one, its format: what a reader looks for in NUnit's output.</summary>
    public string Name => Ring is null ? Test : $"{Test} [{Ring}]";
}
