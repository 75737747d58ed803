using VirtioMq.Conformance.Reporting;
using VirtioMq.Spec;
using VirtioMq.Spec.Recording;

namespace VirtioMq.Conformance.DriverRuns;

/// <summary>
/// Judges the device side of a driver run from the same recording: the back-end (with the front-end that translates
/// VQ_PAIRS_SET into SET_VRING_ENABLE) must deliver nothing on a receiveq whose pair is not enabled. A driver run
/// certifies the driver; these checks keep the device honest while it does, so a driver is never judged against a
/// device that broke the rules first. The windows are those of <see cref="DriverRecordingJudge"/>, on receive rings:
/// after each initialisation (a probe, a reload, a restore from sleep) until the pair is enabled, and after a
/// smaller VQ_PAIRS_SET until it is enabled again.
/// </summary>
public static class BackEndRecordingJudge
{
    public const string Checked = "the back-end and its front-end, as the back-end recorded them";
    private const string Fixture = "VirtioMq.Conformance.DriverRuns.BackEndRecordingJudge";

    public static IReadOnlyList<CheckRecord> Judge(DriverSession session) =>
        [ReceiveWindows(session.Events, afterReset: true), ReceiveWindows(session.Events, afterReset: false)];

    /// <summary>
    /// Receive rings above the first while their pair is not enabled. A window counts as a case when the driver had
    /// buffers on the ring in it (the device could have used them); a frame put on the ring in any window fails. A
    /// packed ring has no available index to read, so there a window counts once the ring was running in it.
    /// </summary>
    private static CheckRecord ReceiveWindows(IReadOnlyList<DriverEvent> events, bool afterReset)
    {
        var (test, id) = afterReset
            ? ("Only_receiveq1_is_used_after_a_reset_until_more_pairs_are_enabled", Rule.NetMqDevRxQ1AfterReset)
            : ("No_frame_arrives_on_a_receiveq_above_the_pairs_once_disabled", Rule.NetMqDevRxLimitAfterUsed);
        var rings = events.Count == 0 ? 0 : events[0].Rings.Count;
        var withBuffers = 0;
        var problems = new List<string>();
        for (var ring = 2; ring < rings; ring += 2)
        {
            foreach (var (open, close) in DriverPhases.DisabledWindows(events, ring, afterSetUp: afterReset))
            {
                if (Enumerable.Range(open + 1, close - open).Any(i => HadBuffers(events[i].Rings[ring]))) withBuffers++;
                var put = events[close].Rings[ring].Frames - events[open].Rings[ring].Frames;
                if (put > 0)
                    problems.Add($"{DriverRecordingJudge.QueueName(ring)} (vring {ring}): {put} frame(s) delivered while its pair was not enabled, " +
                                 $"between {Describe(events[open])} and {Describe(events[close])}");
            }
        }
        if (problems.Count > 0)
            return new CheckRecord(test, Fixture, [id], Checked, CheckOutcome.Failed, withBuffers, null, ViolatedRequirement: id,
                Message: string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : ""));
        return withBuffers == 0
            ? new CheckRecord(test, Fixture, [id], Checked, CheckOutcome.NotApplicable, 0, null,
                Reason: "in no such window did the driver have receive buffers on the ring, so the device could not have broken the rule")
            : new CheckRecord(test, Fixture, [id], Checked, CheckOutcome.Passed, withBuffers, null);
    }

    /// <summary>Whether a running ring had buffers the back-end could use; a running packed ring counts, its available index being unreadable.</summary>
    private static bool HadBuffers(RingSnapshot s) => s.NextAvail is not null && DriverPhases.Waiting(s) is null or > 0;

    private static string Describe(DriverEvent e) =>
        $"{ReportBuilder.Kebab(e.Kind.ToString())}{(e.Ring is { } r ? $" of vring {r}" : "")} at {e.At:F3} s";
}
