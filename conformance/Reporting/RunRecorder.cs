namespace VirtioMq.Conformance.Reporting;

/// <summary>
/// Collects the checks of one `dotnet test conformance` run as they finish (tests may run in parallel),
/// for the report written when the run ends.
/// </summary>
public static class RunRecorder
{
    private static readonly List<CheckRecord> Records = [];

    public static DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

    public static void Add(CheckRecord record)
    {
        lock (Records) Records.Add(record);
    }

    public static IReadOnlyList<CheckRecord> Snapshot()
    {
        lock (Records) return [.. Records];
    }
}
