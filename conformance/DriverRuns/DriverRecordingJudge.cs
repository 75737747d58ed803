using VirtioMq.Conformance.Reporting;
using VirtioMq.Spec;
using VirtioMq.Spec.Recording;

namespace VirtioMq.Conformance.DriverRuns;

/// <summary>
/// Judges a driver from the reference back-end's recording of one front-end session (`serve --record-driver`).
/// Only what a vhost-user back-end really sees counts: features, ring set-up, SET_VRING_ENABLE (the front-end's
/// translation of VQ_PAIRS_SET, since QEMU keeps the controlq), frames taken and delivered per ring, and the
/// driver's available index of each ring read from guest memory at every one of those moments.
/// </summary>
public static class DriverRecordingJudge
{
    public const string Checked = "the driver, as the vhost-user back-end saw it";
    private const string Fixture = "VirtioMq.Conformance.DriverRuns.DriverRecordingJudge";

    /// <param name="expectedPairs">
    /// The pairs the driver is to use after each initialisation, in order: after a probe or a reload, the driver's own
    /// choice (Linux: min(max pairs, CPUs)); after a restore from sleep, the pairs it used before it.
    /// </param>
    public static IReadOnlyList<CheckRecord> Judge(DriverRecording recording, DriverSession session, IReadOnlyList<int> expectedPairs)
    {
        var events = session.Events;
        var phases = DriverPhases.Of(events);
        return
        [
            TransmitWindows(events, beforeSet: true),
            TransmitWindows(events, beforeSet: false),
            ConfiguredBeforeEnabled(events),
            ReceiveQueuesPopulated(events, phases),
            EnabledPairsCarryTraffic(phases),
            PairsAfterEachInitialisation(events, phases, expectedPairs),
            OnlyOfferedFeatures(recording, events),
            new("VQ_PAIRS_SET_stays_within_1_to_max", Fixture, [Rule.NetMqDrvPairsRange], Checked, CheckOutcome.NotApplicable, 0, null,
                Reason: "the front-end keeps the controlq: QEMU refuses a VQ_PAIRS_SET outside 1..max before the back-end hears of it, " +
                        "so a back-end cannot see whether the driver ever sent one"),
        ];
    }

    /// <summary>
    /// A transmit ring above the first, while its pair is not enabled: from its set-up until the first enable
    /// (before VQ_PAIRS_SET), or from a disable until it is enabled again (after a smaller VQ_PAIRS_SET). In such
    /// a window the driver must not queue a frame: no frame may be taken and its available index may not move.
    /// Every initialisation opens the first kind again: a restore from sleep resets the device, so the driver is
    /// back to transmitq1 until its VQ_PAIRS_SET (the restore window).
    /// </summary>
    private static CheckRecord TransmitWindows(IReadOnlyList<DriverEvent> events, bool beforeSet)
    {
        var initialisations = InitialisationWindows.Handovers(events);
        var (test, id) = beforeSet
            ? ("Only_transmitq1_is_used_until_more_pairs_are_enabled", Rule.NetMqDrvTxQ1BeforeSet)
            : ("No_frame_is_queued_on_a_transmitq_above_the_pairs_once_disabled", Rule.NetMqDrvTxLimitAfterSet);
        var windows = 0;
        var problems = new List<string>();
        foreach (var ring in TransmitRingsAboveTheFirst(events))
        {
            foreach (var (open, close) in DriverPhases.DisabledWindows(events, ring, afterSetUp: beforeSet))
            {
                windows++;
                var e = events[close];
                // A new address or a reset means new ring memory: the old available index is not comparable.
                var sameRing = e.Kind is DriverEventKind.Enable or DriverEventKind.RingStop or DriverEventKind.End;
                if (Moved(events[open], e, ring, sameRing) is { } what)
                    problems.Add($"{QueueName(ring)} (vring {ring}): {what} between {Describe(events[open])} and {Describe(e)}" +
                                 Within(initialisations, open));
            }
        }
        return Record(test, id, windows, problems, mustLevel: true);
    }

    /// <summary>What moved on <paramref name="ring"/> between two events, or null when nothing did.</summary>
    private static string? Moved(DriverEvent from, DriverEvent to, int ring, bool compareAvail)
    {
        var frames = to.Rings[ring].Frames - from.Rings[ring].Frames;
        var avail = compareAvail && from.Rings[ring].AvailIdx is { } a && to.Rings[ring].AvailIdx is { } b ? (b - a) & 0xffff : 0;
        if (frames == 0 && avail == 0) return null;
        return $"{frames} frame(s) taken, available index moved by {avail}";
    }

    /// <summary>Every enable of a ring of a pair above the first finds it set up: size, addresses and kick since its last stop or reset.</summary>
    private static CheckRecord ConfiguredBeforeEnabled(IReadOnlyList<DriverEvent> events)
    {
        var rings = events.Count == 0 ? 0 : events[0].Rings.Count;
        var setUp = new HashSet<(int Ring, DriverEventKind Step)>();
        var enables = 0;
        var problems = new List<string>();
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            switch (e.Kind)
            {
                case DriverEventKind.RingSize or DriverEventKind.RingAddress or DriverEventKind.RingKick:
                    setUp.Add((e.Ring!.Value, e.Kind));
                    break;
                case DriverEventKind.RingStop:
                    setUp.RemoveWhere(s => s.Ring == e.Ring);
                    break;
                case DriverEventKind.ResetDevice or DriverEventKind.ResetOwner:
                    setUp.Clear();
                    break;
                case DriverEventKind.Enable when e.Ring >= 2 && e.Ring < rings && (i == 0 || !events[i - 1].Rings[e.Ring.Value].Enabled):
                    enables++;
                    var missing = new[] { DriverEventKind.RingSize, DriverEventKind.RingAddress, DriverEventKind.RingKick }
                        .Where(step => !setUp.Contains((e.Ring.Value, step))).ToList();
                    if (missing.Count > 0)
                        problems.Add($"{QueueName(e.Ring.Value)} (vring {e.Ring}) enabled at {e.At:F3} s without {string.Join(", ", missing.Select(Kebab))}");
                    break;
            }
        }
        return Record("Rings_are_set_up_before_their_pair_is_enabled", Rule.NetMqDrvConfigureBeforeEnable, enables, problems, mustLevel: true);
    }

    /// <summary>At the end of every phase with traffic, each enabled receive ring still has buffers the driver made available.</summary>
    private static CheckRecord ReceiveQueuesPopulated(IReadOnlyList<DriverEvent> events, IReadOnlyList<DriverPhase> phases)
    {
        var looked = 0;
        var problems = new List<string>();
        foreach (var phase in phases.Where(p => p.HadTraffic))
        {
            var end = events[phase.End];
            foreach (var pair in phase.Pairs)
            {
                var ring = 2 * pair;
                var s = end.Rings[ring];
                // The event that ends the phase may be this ring's own stop: it returned the index it had reached.
                var next = s.NextAvail ?? (end.Kind == DriverEventKind.RingStop && end.Ring == ring ? (int?)end.Value : null);
                if (s.AvailIdx is not { } avail || next is not { } taken) continue;
                looked++;
                if (((avail - taken) & 0xffff) == 0)
                    problems.Add($"{QueueName(ring)} had no receive buffer left at {end.At:F3} s, at the end of {phase}");
            }
        }
        return Record("Receive_queues_in_use_have_buffers", Rule.NetMqDrvPopulateRx, looked, problems, mustLevel: false);
    }

    /// <summary>After each change, the pairs enabled are 1..n and the driver sends and receives on every one of them.</summary>
    private static CheckRecord EnabledPairsCarryTraffic(IReadOnlyList<DriverPhase> phases)
    {
        var problems = new List<string>();
        var traffic = phases.Where(p => p.HadTraffic).ToList();
        foreach (var phase in traffic)
        {
            if (!phase.Pairs.SequenceEqual(Enumerable.Range(0, phase.Pairs.Count)))
                problems.Add($"{phase}: the enabled pairs are not the first {phase.Pairs.Count}");
            foreach (var pair in phase.Pairs)
            {
                if (phase.Frames[2 * pair + 1] == 0) problems.Add($"{phase}: nothing was sent on {QueueName(2 * pair + 1)}");
                if (phase.Frames[2 * pair] == 0) problems.Add($"{phase}: nothing arrived on {QueueName(2 * pair)}");
            }
        }
        if (traffic.Count == 0) problems.Add("no phase carried any traffic");
        return Record("Every_enabled_pair_carries_traffic", Rule.NetMqDefVqPairsSet, traffic.Count, problems, mustLevel: true);
    }

    /// <summary>
    /// Each initialisation of the device (the first, and each after a reset: rings stopped, set up and started
    /// again) ends with the driver's own pair count enabled, and the first traffic after it uses all of them.
    /// </summary>
    private static CheckRecord PairsAfterEachInitialisation(IReadOnlyList<DriverEvent> events, IReadOnlyList<DriverPhase> phases, IReadOnlyList<int> expectedPairs)
    {
        var starts = DriverPhases.InitialisationStarts(events);
        var problems = new List<string>();
        if (starts.Count != expectedPairs.Count)
            problems.Add($"the driver initialised the device {starts.Count} time(s), the run was to do it {expectedPairs.Count} time(s) " +
                         $"(at {string.Join(", ", starts.Select(i => $"{events[i].At:F3} s"))})");
        for (var k = 0; k < starts.Count && k < expectedPairs.Count; k++)
        {
            var until = k + 1 < starts.Count ? starts[k + 1] : events.Count;
            var first = phases.FirstOrDefault(p => p.Start >= starts[k] && p.Start < until && p.HadTraffic);
            if (first is null)
                problems.Add($"initialisation {k + 1} (rings started at {events[starts[k]].At:F3} s) was followed by no traffic");
            else if (first.Pairs.Count != expectedPairs[k])
                problems.Add($"initialisation {k + 1}: its first traffic ran with {first.Pairs.Count} pair(s) enabled, expected {expectedPairs[k]}: {first}");
            else if (first.Pairs.Any(p => first.Frames[2 * p] == 0 || first.Frames[2 * p + 1] == 0))
                problems.Add($"initialisation {k + 1}: not every pair carried traffic: {first}");
        }
        if (starts.Count == 0) problems.Add("the rings were never started");
        return Record("Pairs_come_back_after_each_initialisation", Rule.NetVqDrvIdentify, starts.Count, problems, mustLevel: true);
    }

    private static CheckRecord OnlyOfferedFeatures(DriverRecording recording, IReadOnlyList<DriverEvent> events)
    {
        var sets = events.Where(e => e.Kind == DriverEventKind.Features).ToList();
        var problems = sets.Where(e => (e.Value!.Value & ~recording.OfferedFeatures) != 0)
            .Select(e => $"SET_FEATURES 0x{e.Value:x} at {e.At:F3} s has bits 0x{e.Value & ~recording.OfferedFeatures:x} the back-end never offered (0x{recording.OfferedFeatures:x})")
            .ToList();
        return Record("Only_offered_features_are_accepted", Rule.CoreFeatDrvNoUnoffered, sets.Count, problems, mustLevel: true);
    }

    private static CheckRecord Record(string test, string id, int cases, List<string> problems, bool mustLevel) =>
        problems.Count == 0
            ? new CheckRecord(test, Fixture, [id], Checked, CheckOutcome.Passed, cases, null)
            : new CheckRecord(test, Fixture, [id], Checked, mustLevel ? CheckOutcome.Failed : CheckOutcome.Warning, cases, null,
                ViolatedRequirement: id, Message: string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : ""));

    private static IEnumerable<int> TransmitRingsAboveTheFirst(IReadOnlyList<DriverEvent> events) =>
        events.Count == 0 ? [] : Enumerable.Range(0, events[0].Rings.Count).Where(r => r % 2 == 1 && r >= 3);

    /// <summary>The spec's name of a vring: receiveq1 is vring 0, transmitq1 vring 1.</summary>
    public static string QueueName(int ring) => (ring % 2 == 0 ? "receiveq" : "transmitq") + (ring / 2 + 1);

    /// <summary>Which initialisation (counted from its rings' handover) the event at <paramref name="index"/> belongs to, for a failure message.</summary>
    private static string Within(IReadOnlyList<int> initialisations, int index)
    {
        var k = initialisations.Count(i => i <= index);
        return k == 0 ? " (before the rings were first started)" : $" (after initialisation {k}{(k > 1 ? ", a re-initialisation of the device" : "")})";
    }

    private static string Describe(DriverEvent e) => $"{Kebab(e.Kind)}{(e.Ring is { } r ? $" of vring {r}" : "")} at {e.At:F3} s";

    private static string Kebab(DriverEventKind k) => ReportBuilder.Kebab(k.ToString());
}
