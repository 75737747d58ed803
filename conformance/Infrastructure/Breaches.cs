using VirtioMq.Adapters.Devices;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>The rule each breach the driver and front-end recognise breaks: the one place where they meet the catalogue.</summary>
public static class Breaches
{
    public static string RuleOf(Breach breach) => breach switch
    {
        Breach.ConfigLayoutPastQueues => "net.cfg.def.layout",
        Breach.UsedIdNotHeld or Breach.TransmitBuffersKept => "ring.used.def.returns-buffers",
        Breach.UsedLengthShort => "ring.used.dev.write-len-bytes",
        Breach.FrameDuplicated => "net.tx.def.sent-once",
        Breach.ReplyAckMissing => "vu.reply-ack.must-reply",
        Breach.VringBaseReplyMissing => "vu.get-base.reply-last-avail",
        Breach.QueueNumReplyMissing or Breach.CoveredRingRefused => "vu.mq.get-queue-num-reply",
        Breach.ResumeIndexRefused => "vu.set-base.resume",
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
