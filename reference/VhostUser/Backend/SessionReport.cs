using VirtioMq.Reference.Net;
using VirtioMq.Spec;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>One enable or disable of a ring, with the ring's counts at that moment.</summary>
/// <param name="AtSeconds">Seconds since the front-end connected.</param>
public sealed record RingEvent(bool Enabled, double AtSeconds, long Frames, long FramesWhileDisabled);

/// <summary>
/// What one ring carried in a session. <paramref name="Frames"/> counts frames taken from a transmit ring or put
/// on a receive ring; <paramref name="FramesWhileDisabled"/> is the part of them that moved while the ring was
/// disabled: a front-end that sent on a ring it had disabled, or a back-end that delivered to one.
/// </summary>
public sealed record RingReport(int Ring, string Queue, bool Enabled, long Frames, long FramesWhileDisabled, IReadOnlyList<RingEvent> History);

/// <summary>One front-end connection, from its accept to its end (null <paramref name="EndedAt"/>: still running).</summary>
/// <param name="Features">
/// The virtio feature bits of the front-end's last accepted SET_FEATURES (0: none yet). Kept across a device reset,
/// so a session that ended with one still says what its rings ran with.
/// </param>
/// <param name="RingFormat">The virtqueue format those features select: "split", or "packed" with VIRTIO_F_RING_PACKED (bit 34).</param>
public sealed record SessionReport(
    int Number, DateTimeOffset ConnectedAt, DateTimeOffset? EndedAt, double Seconds, ulong Features, string RingFormat,
    long FramesDroppedNoReceiveBuffer, long HistoryEventsDropped, IReadOnlyList<RingReport> Rings)
{
    /// <summary>A snapshot of <paramref name="counters"/> for rings 0..<paramref name="ringCount"/>-1, for a session that accepted <paramref name="features"/>.</summary>
    public static SessionReport Of(int number, DateTimeOffset connectedAt, DateTimeOffset? endedAt, RingCounters counters, int ringCount,
        FeatureSet features = default)
    {
        var history = counters.History.ToLookup(e => e.Ring);
        var rings = Enumerable.Range(0, ringCount).Select(r => new RingReport(
            r, QueueName(r), counters.IsEnabled(r), counters.Frames(r), counters.FramesWhileDisabled(r),
            [.. history[r].Select(e => new RingEvent(e.Enabled, Math.Round(e.AtSeconds, 6), e.Frames, e.FramesWhileDisabled))]));
        var format = features.Has(FeatureBit.RingPacked) ? Spec.RingFormat.Packed : Spec.RingFormat.Split;
        return new SessionReport(number, connectedAt, endedAt, Math.Round(counters.SecondsSinceCreated, 6), features.Low64, FormatName(format),
            counters.DroppedNoReceiveBuffer, counters.HistoryDropped, [.. rings]);
    }

    /// <summary>The name a report gives <paramref name="format"/>: "split" or "packed".</summary>
    public static string FormatName(Spec.RingFormat format) => format == Spec.RingFormat.Packed ? "packed" : "split";

    // The spec's names (receiveq1 is vring 0), so a reader need not remember which parity receives.
    private static string QueueName(int ring) =>
        (ring % 2 == 0 ? "receiveq" : "transmitq") + (ring / 2 + 1);
}

/// <summary>The whole stats file: every session the back-end served so far, oldest first.</summary>
/// <param name="Reason">Why it was written: "session end", "periodic" or "exit".</param>
/// <param name="UptimeSeconds">Seconds since the back-end started, on a monotonic clock, to time intervals between writes.</param>
public sealed record StatsReport(string Socket, int QueuePairs, string Reason, DateTimeOffset WrittenAt, double UptimeSeconds,
    long SessionsDropped, IReadOnlyList<SessionReport> Sessions);
