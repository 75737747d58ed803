using System.Text.Json;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// The back-end's per-ring statistics as a JSON file (`serve --stats PATH`), rewritten whole when a session ends,
/// on exit and, with a period, while a session runs. A reader never sees half a file: it is written next to the
/// target and renamed over it.
/// </summary>
/// <param name="period">How often to rewrite it during a session; zero for only at session end and exit.</param>
public sealed class StatsFile(string path, TimeSpan period)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public string Path { get; } = System.IO.Path.GetFullPath(path);
    public TimeSpan Period { get; } = period >= TimeSpan.Zero ? period : throw new ArgumentOutOfRangeException(nameof(period), "the period cannot be negative");

    /// <summary>Writes <paramref name="report"/>; an I/O problem is returned as a message, never thrown: statistics must not stop the server.</summary>
    public string? TryWrite(StatsReport report)
    {
        var temporary = Path + ".tmp";
        try
        {
            File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(report, Json));
            File.Move(temporary, Path, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot write the stats file {Path}: {e.Message}";
        }
    }

    /// <summary>Reads a file this class wrote (for tests and tools).</summary>
    public static StatsReport Read(string path) =>
        JsonSerializer.Deserialize<StatsReport>(File.ReadAllBytes(path), Json)
            ?? throw new InvalidDataException($"{path} holds JSON null, not a stats report");
}
