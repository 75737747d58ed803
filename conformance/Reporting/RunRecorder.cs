namespace VirtioMq.Conformance.Reporting;

/// <summary>
/// Collects the checks of one `dotnet test conformance` run as they finish (tests may run in parallel),
/// for the report written when the run ends.
/// </summary>
public static class RunRecorder
{
    private static readonly List<CheckRecord> Records = [];

    public static DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

    /// <summary>Raised after each check is recorded (the run keeps its report on disk up to date with it).</summary>
    public static event Action<CheckRecord>? Added;

    public static void Add(CheckRecord record)
    {
        lock (Records) Records.Add(record);
        Added?.Invoke(record);
    }

    public static IReadOnlyList<CheckRecord> Snapshot()
    {
        lock (Records) return [.. Records];
    }
}
