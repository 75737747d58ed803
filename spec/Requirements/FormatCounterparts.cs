namespace VirtioMq.Spec;

/// <summary>
/// The packed-ring rule (§2.8) that says for a packed virtqueue what a split-ring rule (§2.7) says for a split one. A check
/// is written once against the driver's ring, whichever the format; when it runs on packed rings, the rules it names and
/// the rule a failure names are these counterparts, so a packed device is never blamed under a split-ring section it
/// does not have. Rules of both formats (message framing, IN_ORDER's use in order, everything outside the rings) have none and stay.
/// </summary>
public static class FormatCounterparts
{
    private static readonly Dictionary<string, string> Packed = new(StringComparer.Ordinal)
    {
        // Buffers come back through the used ring / as used descriptors carrying their Buffer ID.
        [Rule.RingUsedDefReturnsBuffers] = Rule.RingPackedDefBufferId,
        // The used length counts the bytes written.
        [Rule.RingUsedDevWriteLenBytes] = Rule.RingPackedDevUsedLen,
        // A used element is complete before the driver can see it: the used idx there, the flags here.
        [Rule.RingUsedDevLenBeforeIdx] = Rule.RingPackedDevMarkUsed,
        // The 16-bit indices wrap there; the wrap counters flip here.
        [Rule.RingAvailDevIdxWrap] = Rule.RingPackedDefWrapCounters,
        [Rule.RingUsedDevIdxWrap] = Rule.RingPackedDefWrapCounters,
        // Used buffer notifications follow the avail flags and used_event there, the Driver Event Suppression here.
        [Rule.RingNotifDevNoEventIdx] = Rule.RingPackedDevDriverEventModes,
        [Rule.RingNotifDevEventIdx] = Rule.RingPackedDevDriverEventModes,
        // Staying quiet is a SHOULD NOT there; the packed format only defines the modes, so here it is a robustness expectation.
        [Rule.RingNotifDevNoEventIdxQuiet] = Rule.RobustRingPackedQuietWhenSuppressed,
        [Rule.RingNotifDevEventIdxQuiet] = Rule.RobustRingPackedQuietWhenSuppressed,
        [Rule.RingDescDevNoWriteReadable] = Rule.RingPackedDevNoWriteReadable,
        [Rule.RingIndirectDevIgnoreWriteFlag] = Rule.RingPackedDevIndirectIgnoreWriteFlag,
        // A power of two up to 32768 there; up to 2^15 entries, any count, here.
        [Rule.RingDefQueueSize] = Rule.RingPackedDefLayout,
        // vhost-user: GET_VRING_BASE names the next avail entry of a split ring, both positions of a packed one.
        [Rule.VuGetBaseReplyLastAvail] = Rule.VuPackedGetBaseReplyBoth,
        // IN_ORDER batches: one used ring entry and a used idx jump there, one used descriptor and skipped slots here.
        [Rule.RingInorderDefBatch] = Rule.RingPackedDevInOrderBatch,
        [Rule.RingInorderDefSkippedUsed] = Rule.RingPackedDefInOrderSkippedUsed,
    };

    /// <summary>The rule <paramref name="ruleId"/> stands for in <paramref name="format"/>.</summary>
    public static string In(RingFormat format, string ruleId) =>
        format == RingFormat.Packed && Packed.TryGetValue(ruleId, out var packed) ? packed : ruleId;

    /// <summary>Every rule a check naming <paramref name="ruleIds"/> judges in some format.</summary>
    public static IEnumerable<string> InAnyFormat(IEnumerable<string> ruleIds) =>
        ruleIds.SelectMany(id => Packed.TryGetValue(id, out var packed) ? new[] { id, packed } : [id]).Distinct();
}
