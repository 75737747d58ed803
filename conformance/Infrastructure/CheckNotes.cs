namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// What a check says about its own run while it runs (the model-based test's command rate, say), added to its outcome's
/// note: the report's reason and the test's "Ok" line then carry it. A note is a function, read once the check's run
/// has ended, so it can speak of the whole run.
/// </summary>
/// <remarks>Ambient per thread, like <see cref="Adapters.Driver.Patience"/>: a check runs its property on the test's own thread.</remarks>
public static class CheckNotes
{
    [ThreadStatic] private static List<Func<string?>>? _notes;

    /// <summary>Adds a note to the check running on this thread; outside a check's run it is dropped.</summary>
    public static void Add(Func<string?> note) => _notes?.Add(note);

    /// <summary>Starts collecting the notes of a check's run on this thread; disposing drops what was not taken.</summary>
    internal static IDisposable Begin()
    {
        var previous = _notes;
        _notes = [];
        return new Scope(previous);
    }

    /// <summary>The notes added so far, read now and joined; null when there are none.</summary>
    internal static string? Take()
    {
        if (_notes is not { Count: > 0 } notes) return null;
        var text = string.Join("; ", notes.Select(n => n()).OfType<string>());
        notes.Clear();
        return text.Length == 0 ? null : text;
    }

    private sealed class Scope(List<Func<string?>>? previous) : IDisposable
    {
        public void Dispose() => _notes = previous;
    }
}
