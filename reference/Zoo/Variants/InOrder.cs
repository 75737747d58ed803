using System.Runtime.CompilerServices;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Reference.Virtqueues;

namespace VirtioMq.Reference.Zoo;

// In-order faults (VIRTIO_F_IN_ORDER, §2.7.9, §2.8.8): each plugs into IInOrderRules and shows only when the driver
// accepts IN_ORDER, which the reference offers.

/// <summary>
/// in-order-reordered, as DPDK's vhost before 715070ea10e6 could be: IN_ORDER negotiated while dequeue zero-copy returned
/// transmit buffers in the order the NIC finished them. Here each kick's buffers go back last first, one used entry each.
/// </summary>
public sealed class InOrderReordered() : ZooDeviation(DeviceFault.InOrderReordered)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { InOrder = new Rules(seams.InOrder) };

    private sealed class Rules(IInOrderRules inner) : InOrderRulesDecorator(inner)
    {
        public override bool MaySkip(uint length, long writable) => false;

        public override void Order(List<HeldUsed> held) => held.Reverse();
    }
}

/// <summary>
/// in-order-batch-count-kept, as Linux's vhost-net busy-poll path before "vhost-net: unbreak busy polling" (2025, fixing
/// 67a873df0c41): the count of buffers a batch covers was not reset after the batch was written, so each batch moved
/// used idx by its own size plus the one before it.
/// </summary>
public sealed class InOrderBatchCountKept() : ZooDeviation(DeviceFault.InOrderBatchCountKept)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { InOrder = new Rules(seams.InOrder) };

    private sealed class Rules(IInOrderRules inner) : InOrderRulesDecorator(inner)
    {
        // Per ring, as the stale count was.
        private readonly ConditionalWeakTable<IDeviceVirtqueue, StrongBox<int>> _kept = [];

        public override int Step(IDeviceVirtqueue ring, int covered)
        {
            var kept = _kept.GetOrCreateValue(ring);
            var step = base.Step(ring, covered) + kept.Value;
            kept.Value = covered;
            return step;
        }
    }
}

/// <summary>in-order-batch-first-id (synthetic): a batch's one used entry carries its first buffer's id, not its last's.</summary>
public sealed class InOrderBatchFirstId() : ZooDeviation(DeviceFault.InOrderBatchFirstId)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { InOrder = new Rules(seams.InOrder) };

    private sealed class Rules(IInOrderRules inner) : InOrderRulesDecorator(inner)
    {
        public override ushort BatchId(ushort firstId, ushort lastId) => firstId;
    }
}

/// <summary>
/// in-order-skips-partial-receive (synthetic): receive buffers a frame did not fill go back inside a batch, so the driver
/// takes them as full and reads the rest of the buffer as part of the frame.
/// </summary>
public sealed class InOrderSkipsPartialReceive() : ZooDeviation(DeviceFault.InOrderSkipsPartialReceive)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { InOrder = new Rules(seams.InOrder) };

    private sealed class Rules(IInOrderRules inner) : InOrderRulesDecorator(inner)
    {
        public override bool MaySkip(uint length, long writable) => true;
    }
}
