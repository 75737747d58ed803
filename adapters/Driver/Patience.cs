namespace VirtioMq.Adapters.Driver;

/// <summary>
/// How long the suite still waits for a device within one check. The first wait for something the device owes
/// gets the full timeout; once the device has let one run out, every later wait of the same check (its other
/// cases and every shrink step) is cut short. A device that lost a frame once would otherwise cost the full
/// timeout on each of hundreds of shrink steps, and a run against a broken device would never end.
/// </summary>
/// <remarks>
/// Ambient per thread: a check runs its property on the test's own thread, and the waits that consult it sit deep
/// in the driver and the transports, which should not carry a check's bookkeeping in their signatures.
/// </remarks>
public sealed class Patience(TimeSpan afterTimeout)
{
    [ThreadStatic] private static Patience? _current;

    /// <summary>The patience of the check running on this thread; a fresh one (full timeouts) outside any check.</summary>
    public static Patience Current => _current ??= new Patience(DefaultAfterTimeout);

    /// <summary>What a wait is cut to once the device has timed out: long enough for any answer that is merely slow.</summary>
    public static TimeSpan DefaultAfterTimeout { get; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Whether the device has let a full wait run out in this check.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>What is left of a wait of <paramref name="requested"/>: all of it until the first timeout.</summary>
    public TimeSpan Cap(TimeSpan requested) => TimedOut && requested > afterTimeout ? afterTimeout : requested;

    /// <summary>A wait the device owed an answer to ran out.</summary>
    public void RanOut() => TimedOut = true;

    /// <summary>Starts a check with full patience on this thread; disposing ends it.</summary>
    public static IDisposable Begin(TimeSpan afterTimeout)
    {
        var previous = _current;
        _current = new Patience(afterTimeout);
        return new Scope(previous);
    }

    private sealed class Scope(Patience? previous) : IDisposable
    {
        public void Dispose() => _current = previous;
    }
}
