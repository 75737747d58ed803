using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Reference.Zoo;

// One forwarding decorator per seam: a variant overrides only the member its bug lives in.

public abstract class QueueRolesDecorator(IQueueRoles inner) : IQueueRoles
{
    public virtual QueueRole RoleOf(int vq, NetQueueLayout layout, FeatureSet negotiated) => inner.RoleOf(vq, layout, negotiated);
    public virtual bool IsReceiveq(int vq) => inner.IsReceiveq(vq);
    public virtual int Receiveq(int pair) => inner.Receiveq(pair);
}

public abstract class DeviceOfferDecorator(IDeviceOffer inner) : IDeviceOffer
{
    public virtual FeatureSet Features(bool multiqueue) => inner.Features(multiqueue);
    public virtual ushort MaxVirtqueuePairs(int maxPairs) => inner.MaxVirtqueuePairs(maxPairs);
    public virtual void WriteHashLimits(Span<byte> config, VirtioMq.Spec.Rss.RssLimits limits) => inner.WriteHashLimits(config, limits);
}

public abstract class DeviceLifecycleDecorator(IDeviceLifecycle inner) : IDeviceLifecycle
{
    public virtual void Kick(int vq, DeviceStatus status, IKickSteps device) => inner.Kick(vq, status, device);
    public virtual void ResetQueue(int vq, Action<int> stop) => inner.ResetQueue(vq, stop);
    public virtual void Reset(IResetSteps device) => inner.Reset(device);
    public virtual void Started() => inner.Started();
}

public abstract class RingRulesDecorator(IRingRules inner) : IRingRules
{
    public virtual bool Serves(IDeviceVirtqueue ring) => inner.Serves(ring);
    public virtual bool IsEmpty(ushort availIdx, ushort lastAvailIdx) => inner.IsEmpty(availIdx, lastAvailIdx);
    public virtual bool IsAvailable(ushort flags, bool wrap) => inner.IsAvailable(flags, wrap);
    public virtual void Refused(IDeviceVirtqueue ring, ChainHandle chain) => inner.Refused(ring, chain);
}

public abstract class PackedRingRulesDecorator(IPackedRingRules inner) : IPackedRingRules
{
    public virtual ushort ListBufferId(ushort firstId, ushort lastId) => inner.ListBufferId(firstId, lastId);
    public virtual int UsedSlotInBatch(int index, int slotsBefore) => inner.UsedSlotInBatch(index, slotsBefore);
    public virtual bool ListGoesOn(int ring, ushort flags, uint length) => inner.ListGoesOn(ring, flags, length);
    public virtual bool TakesAhead => inner.TakesAhead;
    public virtual bool EventReached(ushort offWrap, int size, PackedPosition old, PackedPosition now) => inner.EventReached(offWrap, size, old, now);
}

public abstract class InOrderRulesDecorator(IInOrderRules inner) : IInOrderRules
{
    public virtual bool MaySkip(uint length, long writable) => inner.MaySkip(length, writable);
    public virtual ushort BatchId(ushort firstId, ushort lastId) => inner.BatchId(firstId, lastId);
    public virtual void Order(List<HeldUsed> held) => inner.Order(held);
    public virtual int Step(IDeviceVirtqueue ring, int covered) => inner.Step(ring, covered);
}

public abstract class TransmitRulesDecorator(ITransmitRules inner) : ITransmitRules
{
    public virtual bool Drains(bool enabled) => inner.Drains(enabled);
    public virtual bool ReturnsBuffer(bool enabled) => inner.ReturnsBuffer(enabled);
    public virtual bool Forwards(bool enabled) => inner.Forwards(enabled);
    public virtual int Gather(DescriptorChain chain, GuestMemory memory, Span<byte> packet) => inner.Gather(chain, memory, packet);
    public virtual bool PublishesAtEnd(int taken) => inner.PublishesAtEnd(taken);
}

public abstract class ReceiveSteeringDecorator(IReceiveSteering inner) : IReceiveSteering
{
    public virtual int? Select(ReadOnlySpan<byte> frame, int txPair, IReadOnlySet<int> enabledPairs) => inner.Select(frame, txPair, enabledPairs);
    public virtual void Forget() => inner.Forget();
}

public abstract class ReceiveRulesDecorator(IReceiveRules inner) : IReceiveRules
{
    public virtual void WriteHeader(Span<byte> header) => inner.WriteHeader(header);
    public virtual void WriteHash(Span<byte> header, VirtioMq.Spec.Rss.HashOutcome outcome) => inner.WriteHash(header, outcome);
    public virtual uint UsedLength(int written) => inner.UsedLength(written);
    public virtual int Copies => inner.Copies;
}

public abstract class PacketHashingDecorator(IPacketHashing inner) : IPacketHashing
{
    public virtual VirtioMq.Spec.Rss.HashOutcome Hash(ReadOnlySpan<byte> frame, NetHashTypes enabled, byte[] key) => inner.Hash(frame, enabled, key);
    public virtual int Select(VirtioMq.Spec.Rss.RssConfig config, VirtioMq.Spec.Rss.HashOutcome outcome) => inner.Select(config, outcome);
}

public abstract class VhostUserRulesDecorator(IVhostUserRules inner) : IVhostUserRules
{
    public virtual ulong ProtocolFeatures(ulong offered) => inner.ProtocolFeatures(offered);
    public virtual ulong ProtocolFeaturesKept(ulong accepted) => inner.ProtocolFeaturesKept(accepted);
    public virtual int PairsAccepted(int servedPairs) => inner.PairsAccepted(servedPairs);
    public virtual ulong QueueNum(int servedPairs) => inner.QueueNum(servedPairs);
    public virtual uint SetVringBase(uint value, int ringSize, RingFormat format) => inner.SetVringBase(value, ringSize, format);
    public virtual VringBaseReply GetVringBase(IStoppableRing ring) => inner.GetVringBase(ring);
    public virtual uint ResumeAt(uint @base) => inner.ResumeAt(@base);
    public virtual IEnumerable<int> InitiallyEnabled(int servedPairs) => inner.InitiallyEnabled(servedPairs);
    public virtual IEnumerable<int> RingsSwitched(int index, int servedPairs) => inner.RingsSwitched(index, servedPairs);
}

/// <summary>A control target whose view of the device differs from the device's own.</summary>
public class ControlTargetView(IControlTarget device) : IControlTarget
{
    public virtual FeatureSet Negotiated => device.Negotiated;
    public int MaxPairs => device.MaxPairs;
    public int CurrentPairs => device.CurrentPairs;
    public virtual void SetPairs(int pairs) => device.SetPairs(pairs);
    public virtual ReceiveScaling Scaling => device.Scaling;
    public void Note(string message) => device.Note(message);
}
