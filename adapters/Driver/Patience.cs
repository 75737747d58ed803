namespace VirtioMq.Adapters.Driver;

/// <summary>
/// How long the suite still waits for a device within one check. The first wait for something the device owes
/// gets the full timeout; once the device has let one run out, every later wait of the same check (its other
/// cases and every shrink step) is cut short. A device that lost a frame once would otherwise cost the full
/// timeout on each of hundreds of shrink steps, and a run against a broken device would never end.
/// </summary>
/// <remarks>
/// <para>
/// The cut wait is measured, not guessed: it is <see cref="SlowAnswerFactor"/> times the slowest answer the device gave
/// in this check (a frame, an ack, a used buffer or a reply it owed, each timed from the start of its wait), never less
/// than <see cref="MinimumCut"/> and never more than the check's ceiling (<see cref="DefaultAfterTimeout"/> unless the
/// check sets another). A device that answers in a millisecond and then loses a frame costs each shrink step
/// <see cref="MinimumCut"/>, not half a second; a device that is merely slow keeps the waits its answers need.
/// </para>
/// <para>
/// Ambient per thread: a check runs its property on the test's own thread, and the waits that consult it sit deep
/// in the driver and the transports, which should not carry a check's bookkeeping in their signatures.
/// </para>
/// </remarks>
public sealed class Patience(TimeSpan afterTimeout)
{
    [ThreadStatic] private static Patience? _current;

    private TimeSpan _slowestAnswer;

    /// <summary>The patience of the check running on this thread; a fresh one (full timeouts) outside any check.</summary>
    public static Patience Current => _current ??= new Patience(DefaultAfterTimeout);

    /// <summary>The most a wait is cut to once the device has timed out: long enough for any answer that is merely slow.</summary>
    public static TimeSpan DefaultAfterTimeout { get; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The least a wait is cut to once the device has timed out, whatever its answers measured: two orders of magnitude
    /// above a loopback over a socket, and room for a scheduler that let the device's thread wait a few time slices.
    /// </summary>
    public static TimeSpan MinimumCut { get; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How many times its slowest answer so far a device is still waited for after a timeout.</summary>
    public const int SlowAnswerFactor = 4;

    /// <summary>Whether the device has let a full wait run out in this check.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>The slowest answer the device gave in this check (zero before the first).</summary>
    public TimeSpan SlowestAnswer => _slowestAnswer;

    /// <summary>What a wait is cut to once the device has timed out (see the remarks).</summary>
    public TimeSpan AfterTimeout
    {
        get
        {
            var measured = _slowestAnswer * SlowAnswerFactor;
            var cut = measured > MinimumCut ? measured : MinimumCut;
            return cut < afterTimeout ? cut : afterTimeout;
        }
    }

    /// <summary>What is left of a wait of <paramref name="requested"/>: all of it until the first timeout.</summary>
    public TimeSpan Cap(TimeSpan requested) => TimedOut && requested > AfterTimeout ? AfterTimeout : requested;

    /// <summary>A wait the device owed an answer to ran out.</summary>
    public void RanOut() => TimedOut = true;

    /// <summary>The device gave an answer it owed, <paramref name="took"/> after the wait for it began.</summary>
    public void Answered(TimeSpan took)
    {
        if (took > _slowestAnswer) _slowestAnswer = took;
    }

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
