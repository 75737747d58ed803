using System.Diagnostics;

namespace VirtioMq.Spec.Platform;

/// <summary>
/// One timeout shared by several blocking steps (poll for the header, poll again for the payload), so a message
/// arriving in pieces cannot stretch the wait beyond what the caller asked for.
/// </summary>
public readonly struct Deadline
{
    private readonly long _end;

    private Deadline(long end) => _end = end;

    public static Deadline After(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan) return new Deadline(long.MaxValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        var ticks = (long)Math.Min(timeout.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 2.0);
        return new Deadline(Stopwatch.GetTimestamp() + ticks);
    }

    public bool IsInfinite => _end == long.MaxValue;

    /// <summary>Milliseconds left, rounded up so a poll never returns just before the deadline; -1 means forever.</summary>
    public int RemainingMilliseconds
    {
        get
        {
            if (IsInfinite) return -1;
            var left = _end - Stopwatch.GetTimestamp();
            if (left <= 0) return 0;
            return (int)Math.Min(int.MaxValue, Math.Ceiling(left * 1000.0 / Stopwatch.Frequency));
        }
    }

    public bool Expired => !IsInfinite && Stopwatch.GetTimestamp() >= _end;
}
