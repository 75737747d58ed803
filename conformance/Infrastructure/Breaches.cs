using VirtioMq.Adapters.Devices;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>The rule each breach the driver and front-end recognise breaks: the one place where they meet the catalogue.</summary>
public static class Breaches
{
    public static string RuleOf(Breach breach) => breach switch
    {
        Breach.ConfigLayoutPastQueues => Rule.NetCfgDefLayout,
        Breach.UsedIdNotHeld or Breach.TransmitBuffersKept => Rule.RingUsedDefReturnsBuffers,
        Breach.UsedLengthShort => Rule.RingUsedDevWriteLenBytes,
        Breach.FrameDuplicated => Rule.NetTxDefSentOnce,
        Breach.ReplyAckMissing => Rule.VuReplyAckMustReply,
        Breach.VringBaseReplyMissing => Rule.VuGetBaseReplyLastAvail,
        Breach.QueueNumReplyMissing or Breach.CoveredRingRefused => Rule.VuMqGetQueueNumReply,
        Breach.ResumeIndexRefused => Rule.VuSetBaseResume,
        Breach.QueueResetNeverCompletes => Rule.XportPciDevQueueReset,
        Breach.PackedVringBaseReplyMissing or Breach.PackedVringBaseOutsideRing => Rule.VuPackedGetBaseReplyBoth,
        Breach.PackedResumeBaseRefused => Rule.VuPackedSetBaseBoth,
        Breach.InOrderUsedOutOfOrder => Rule.RingInorderDev,
        Breach.InOrderBatchMisplaced => Rule.RingInorderDefBatch,
        Breach.PackedUsedInsideList => Rule.RingPackedDevChainOneUsed,
        Breach.PackedNextIgnored => Rule.RingPackedDefNextFlag,
        _ => throw new ArgumentOutOfRangeException(nameof(breach), breach, "a breach with no rule"),
    };

    extension(DeviceProtocolException e)
    {
        /// <summary>
        /// The rule the device broke when the driver or front-end could tell where it happened; null when only the check
        /// knows what the failure was part of. A check that ends on such an exception reports it as that rule's violation.
        /// </summary>
        public string? RequirementId => e.Judgement?.RequirementId ?? (e.Breach is { } b ? RuleOf(b) : null);
    }
}
