using System.Globalization;
using VirtioMq.Spec.Recording;

namespace VirtioMq.Conformance.DriverRuns;

/// <summary>
/// What the driver had done when its VQ_PAIRS_SET reached the back-end, after one initialisation: the window from
/// the rings' handover (QEMU sends SET_VRING_ADDR when the guest sets DRIVER_OK) to the first SET_VRING_ENABLE
/// of a ring above the first pair (QEMU's translation of VQ_PAIRS_SET: enables for more pairs, disables for one).
/// After a restore from sleep this is the restore window, in which the spec has the driver on transmitq1 alone.
/// </summary>
/// <param name="Initialisation">1 for the first initialisation of the session.</param>
/// <param name="PairsSetAt">When VQ_PAIRS_SET showed, or null if it never did before the rings stopped again.</param>
/// <param name="Pairs">The pairs enabled once the command's enables were through.</param>
/// <param name="ReceiveBuffers">Receive buffers waiting on each receiveq when the command showed (null where unreadable: a ring not started yet, or a packed ring, which has no available index).</param>
/// <param name="TransmitFramesAboveFirst">Frames taken from each transmitq above the first inside the window.</param>
public sealed record InitialisationWindow(int Initialisation, double StartedAt, double? PairsSetAt, int Pairs,
    IReadOnlyList<int?> ReceiveBuffers, IReadOnlyList<long> TransmitFramesAboveFirst)
{
    public override string ToString()
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"initialisation {Initialisation}: rings handed over at {StartedAt:F3} s");
        if (PairsSetAt is not { } at) return head + ", no VQ_PAIRS_SET reached the back-end before the rings stopped";
        return head + string.Create(CultureInfo.InvariantCulture,
            $", VQ_PAIRS_SET({Pairs}) {(at - StartedAt) * 1000:F1} ms later; receive buffers then: ") +
            (ReceiveBuffers.All(b => b is null) ? "not readable (packed rings, or rings not started)"
                : string.Join(", ", ReceiveBuffers.Select((b, i) => $"receiveq{i + 1} {b?.ToString(CultureInfo.InvariantCulture) ?? "?"}"))) +
            "; frames taken before it: " + string.Join(", ", TransmitFramesAboveFirst.Select((f, i) => $"transmitq{i + 2} {f}"));
    }
}

public static class InitialisationWindows
{
    public static IReadOnlyList<InitialisationWindow> Of(IReadOnlyList<DriverEvent> events)
    {
        var handovers = Handovers(events);
        var windows = new List<InitialisationWindow>();
        for (var k = 0; k < handovers.Count; k++)
        {
            var first = events[handovers[k]];
            var rings = first.Rings.Count;
            var until = k + 1 < handovers.Count ? handovers[k + 1] : events.Count;
            var inWindow = Enumerable.Range(handovers[k], until - handovers[k]).ToList();
            var set = inWindow.Where(i => events[i].Kind is DriverEventKind.Enable or DriverEventKind.Disable && events[i].Ring >= 2).Cast<int?>().FirstOrDefault();
            var stop = inWindow.Where(i => events[i].Kind is DriverEventKind.RingStop or DriverEventKind.ResetDevice or DriverEventKind.ResetOwner).Cast<int?>().FirstOrDefault();
            if (set is not { } s || stop is { } t && t < s)
            {
                windows.Add(new InitialisationWindow(k + 1, first.At, null, 0, [], []));
                continue;
            }
            // The command's enables arrive as one burst; the pairs are those enabled at its last message.
            var last = s;
            while (last + 1 < until && events[last + 1].Kind is DriverEventKind.Enable or DriverEventKind.Disable) last++;
            var after = events[last];
            var pairs = Enumerable.Range(0, rings / 2).Count(p => after.Rings[2 * p].Enabled && after.Rings[2 * p + 1].Enabled);
            var at = events[s];
            var buffers = Enumerable.Range(0, rings / 2).Select(p => DriverPhases.Waiting(at.Rings[2 * p])).ToList();
            var frames = Enumerable.Range(1, rings / 2 - 1).Select(p => at.Rings[2 * p + 1].Frames - first.Rings[2 * p + 1].Frames).ToList();
            windows.Add(new InitialisationWindow(k + 1, first.At, at.At, pairs, buffers, frames));
        }
        return windows;
    }

    /// <summary>
    /// Where each initialisation hands the rings to the back-end: its first SET_VRING_ADDR after the rings were last
    /// stopped or reset. (A ring starts only at the driver's first kick with some front-ends, so the start is later.)
    /// </summary>
    public static IReadOnlyList<int> Handovers(IReadOnlyList<DriverEvent> events) =>
        [.. DriverPhases.InitialisationStarts(events).Select(start =>
        {
            var i = start;
            while (i > 0 && events[i - 1].Kind is not (DriverEventKind.RingStop or DriverEventKind.ResetDevice or DriverEventKind.ResetOwner)) i--;
            while (i < start && events[i].Kind != DriverEventKind.RingAddress) i++;
            return i;
        })];
}
