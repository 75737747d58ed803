using VirtioMq.Spec.Recording;

namespace VirtioMq.Conformance.DriverRuns;

/// <summary>
/// A stretch of a recorded session during which the same rings were enabled and the same rings running, from the
/// event at <paramref name="Start"/> to the one at <paramref name="End"/> (indices into the session's events), with
/// the frames each ring carried in it and the pairs (both rings enabled) in use.
/// </summary>
public sealed record DriverPhase(int Start, int End, double From, double To, IReadOnlyList<int> Pairs, IReadOnlyList<long> Frames)
{
    public bool HadTraffic => Frames.Any(f => f > 0);

    public override string ToString() =>
        $"the phase from {From:F3} s to {To:F3} s with {Pairs.Count} pair(s) enabled " +
        $"(frames per queue: {string.Join(", ", Frames.Select((f, r) => $"{DriverRecordingJudge.QueueName(r)} {f}"))})";
}

/// <summary>Cuts a session's events into phases and initialisations.</summary>
public static class DriverPhases
{
    /// <summary>
    /// A new phase starts wherever a ring is enabled, disabled, started or stopped. A change of pair count is a
    /// burst of such events with no traffic between them, so only the last stretch of a burst carries frames.
    /// </summary>
    public static IReadOnlyList<DriverPhase> Of(IReadOnlyList<DriverEvent> events)
    {
        if (events.Count == 0) return [];
        var boundaries = Enumerable.Range(0, events.Count).Where(i => i == 0 || Key(events[i]) != Key(events[i - 1])).ToList();
        if (boundaries[^1] != events.Count - 1) boundaries.Add(events.Count - 1);
        var phases = new List<DriverPhase>();
        for (var k = 0; k + 1 < boundaries.Count; k++)
        {
            var (from, to) = (events[boundaries[k]], events[boundaries[k + 1]]);
            var rings = from.Rings.Count;
            var pairs = Enumerable.Range(0, rings / 2).Where(p => from.Rings[2 * p].Enabled && from.Rings[2 * p + 1].Enabled).ToList();
            var frames = Enumerable.Range(0, rings).Select(r => to.Rings[r].Frames - from.Rings[r].Frames).ToList();
            phases.Add(new DriverPhase(boundaries[k], boundaries[k + 1], from.At, to.At, pairs, frames));
        }
        return phases;
    }

    /// <summary>Where each initialisation begins: the first ring start while no ring was running (the first ever, or after a reset stopped them all).</summary>
    public static IReadOnlyList<int> InitialisationStarts(IReadOnlyList<DriverEvent> events) =>
        [.. Enumerable.Range(0, events.Count).Where(i => events[i].Kind == DriverEventKind.RingStart
                                                          && (i == 0 || events[i - 1].Rings.All(r => r.NextAvail is null)))];

    /// <summary>
    /// The stretches in which <paramref name="ring"/>'s pair is not enabled, as (opening event, closing event) indices.
    /// With <paramref name="afterSetUp"/>, from the ring's set-up (SET_VRING_ADDR while disabled: the first
    /// initialisation, or one after a reset or a restore) until it is enabled; without, from a disable of a ring
    /// enabled since its set-up (a smaller VQ_PAIRS_SET) until it is enabled again. A window also closes when the ring
    /// is stopped or set up anew, at a reset, and at the session's end.
    /// </summary>
    public static IEnumerable<(int Open, int Close)> DisabledWindows(IReadOnlyList<DriverEvent> events, int ring, bool afterSetUp)
    {
        int? open = null;
        var enabledSinceSetUp = false;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var mine = e.Ring == ring;
            if (open is { } start && (mine && e.Kind is DriverEventKind.Enable or DriverEventKind.RingStop or DriverEventKind.RingAddress
                                                  or DriverEventKind.RingSize or DriverEventKind.RingBase
                                      || e.Kind is DriverEventKind.ResetDevice or DriverEventKind.ResetOwner or DriverEventKind.End))
            {
                yield return (start, i);
                open = null;
            }
            if (!mine) continue;
            switch (e.Kind)
            {
                case DriverEventKind.RingAddress:
                    enabledSinceSetUp = e.Rings[ring].Enabled;
                    if (afterSetUp && !enabledSinceSetUp) open = i;
                    break;
                case DriverEventKind.Enable:
                    enabledSinceSetUp = true;
                    break;
                case DriverEventKind.Disable when !afterSetUp && enabledSinceSetUp && open is null:
                    open = i;
                    break;
            }
        }
    }

    /// <summary>
    /// Buffers the driver offered on a ring and the back-end has not taken yet; null when that cannot be read: the ring
    /// is not running, or it is packed and has no available index.
    /// </summary>
    public static int? Waiting(RingSnapshot s) => s.NextAvail is { } next && s.AvailIdx is { } avail ? (avail - next) & 0xffff : null;

    private static string Key(DriverEvent e) =>
        string.Concat(e.Rings.Select(r => (r.Enabled ? "E" : "-") + (r.NextAvail is null ? "s" : "R")));
}
