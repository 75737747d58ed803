using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.Zoo;

// Back-end faults: vhost-user behaviour the in-process device has no counterpart for.

/// <summary>queue-num-lies: GET_QUEUE_NUM answers 128, and rings above the pairs served are accepted but never processed (DPDK 22.11).</summary>
public sealed class QueueNumLies() : ZooDeviation(DeviceFault.QueueNumLies)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override int PairsAccepted(int servedPairs) => VhostUserBackend.MaxQueuePairs;
        public override ulong QueueNum(int servedPairs) => VhostUserBackend.MaxQueuePairs;
    }
}

/// <summary>queue-num-overstates: GET_QUEUE_NUM answers 128, but SET_VRING_NUM refuses the rings of pairs above those served.</summary>
public sealed class QueueNumOverstates() : ZooDeviation(DeviceFault.QueueNumOverstates)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override ulong QueueNum(int servedPairs) => VhostUserBackend.MaxQueuePairs;
    }
}

/// <summary>no-mq-protocol-feature: VHOST_USER_PROTOCOL_F_MQ is not offered.</summary>
public sealed class NoMqProtocolFeature() : ZooDeviation(DeviceFault.NoMqProtocolFeature)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override ulong ProtocolFeatures(ulong offered) => base.ProtocolFeatures(offered) & ~(1UL << VhostUserProtocolFeature.Mq);
    }
}

/// <summary>advertise-reply-ack-but-no-ack: REPLY_ACK is offered and accepted, then forgotten, so need_reply requests get no ack.</summary>
public sealed class AdvertiseReplyAckButNoAck() : ZooDeviation(DeviceFault.AdvertiseReplyAckButNoAck)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override ulong ProtocolFeaturesKept(ulong accepted) => base.ProtocolFeaturesKept(accepted) & ~(1UL << VhostUserProtocolFeature.ReplyAck);
    }
}

/// <summary>set-base-rejects-wrapped: the base is taken for a ring position, so values not below the ring size are refused.</summary>
public sealed class SetBaseRejectsWrapped() : ZooDeviation(DeviceFault.SetBaseRejectsWrapped)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override uint SetVringBase(uint value, int ringSize, RingFormat format) => value >= (uint)ringSize
            ? throw new VhostUserProtocolException($"SET_VRING_BASE {value} is not below the ring size {ringSize}")
            : base.SetVringBase(value, ringSize, format);
    }
}

/// <summary>get-base-keeps-running: GET_VRING_BASE answers but the ring keeps running on later kicks.</summary>
public sealed class GetBaseKeepsRunning() : ZooDeviation(DeviceFault.GetBaseKeepsRunning)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override VringBaseReply GetVringBase(IStoppableRing ring) => new(ring.Current);
    }
}

/// <summary>
/// get-base-off-by-one: GET_VRING_BASE answers one less than the next available index, so a resume repeats a buffer (on a
/// packed ring, the avail half one less, wrap bit and used half kept).
/// </summary>
public sealed class GetBaseOffByOne() : ZooDeviation(DeviceFault.GetBaseOffByOne)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override VringBaseReply GetVringBase(IStoppableRing ring)
        {
            var reply = base.GetVringBase(ring);
            var next = (reply.Next & 0xffff0000) | (ushort)(reply.Next - 1);
            ring.Base = next;
            return reply with { Next = next };
        }
    }
}

/// <summary>get-base-returns-zero: the ring is reset before its index is read, so GET_VRING_BASE always answers 0.</summary>
public sealed class GetBaseReturnsZero() : ZooDeviation(DeviceFault.GetBaseReturnsZero)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override VringBaseReply GetVringBase(IStoppableRing ring)
        {
            var reply = base.GetVringBase(ring);
            ring.Base = 0;
            return reply with { Next = 0 };
        }
    }
}

/// <summary>get-base-no-reply: GET_VRING_BASE stops the ring but never sends its reply.</summary>
public sealed class GetBaseNoReply() : ZooDeviation(DeviceFault.GetBaseNoReply)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override VringBaseReply GetVringBase(IStoppableRing ring) => base.GetVringBase(ring) with { Sent = false };
    }
}

/// <summary>resume-clears-indices: a ring started again ignores the SET_VRING_BASE value and takes buffers from index 0.</summary>
public sealed class ResumeClearsIndices() : ZooDeviation(DeviceFault.ResumeClearsIndices)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override uint ResumeAt(uint @base) => 0;
    }
}

/// <summary>rings-start-enabled: rings are created enabled, even with VHOST_USER_F_PROTOCOL_FEATURES negotiated.</summary>
public sealed class RingsStartEnabled() : ZooDeviation(DeviceFault.RingsStartEnabled)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override IEnumerable<int> InitiallyEnabled(int servedPairs) => Enumerable.Range(0, 2 * servedPairs);
    }
}

/// <summary>
/// enable-index-per-pair: SET_VRING_ENABLE's index is read as a pair number, switching both rings of that pair. An
/// index past the pairs switches nothing, where the original wrote past its array.
/// </summary>
public sealed class EnableIndexPerPair() : ZooDeviation(DeviceFault.EnableIndexPerPair)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override IEnumerable<int> RingsSwitched(int index, int servedPairs) =>
            2 * index + 1 >= 2 * servedPairs ? [] : [2 * index, 2 * index + 1];
    }
}
