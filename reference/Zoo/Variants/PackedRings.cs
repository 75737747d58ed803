using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.Zoo;

// Packed-ring faults (§2.8): each plugs into the packed seams (IPackedRingRules, or GET_VRING_BASE's reply) and leaves
// split rings as they are.

/// <summary>
/// packed-id-from-first-descriptor, as QEMU's virtqueue_packed_pop has it: the Buffer ID is read from the list's first
/// descriptor, where the spec puts it in the last. Linux writes the ID in every descriptor of a list, so it never shows there.
/// </summary>
public sealed class PackedIdFromFirstDescriptor() : ZooDeviation(DeviceFault.PackedIdFromFirstDescriptor)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { PackedRings = new Rules(seams.PackedRings) };

    private sealed class Rules(IPackedRingRules inner) : PackedRingRulesDecorator(inner)
    {
        public override ushort ListBufferId(ushort firstId, ushort lastId) => firstId;
    }
}

/// <summary>
/// packed-used-skips-one, as QEMU's virtqueue_packed_fill_desc had it before 2d9a31b3c273: in a batch flushed together the
/// k-th used descriptor goes to the batch's first used slot + k, not past the slots of the lists before it, so with lists
/// of two or more descriptors it lands inside an earlier list, where the driver never looks. (QEMU batched mergeable
/// receive buffers; the reference batches what one transmit kick drains.)
/// </summary>
public sealed class PackedUsedSkipsOne() : ZooDeviation(DeviceFault.PackedUsedSkipsOne)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { PackedRings = new Rules(seams.PackedRings) };

    private sealed class Rules(IPackedRingRules inner) : PackedRingRulesDecorator(inner)
    {
        public override int UsedSlotInBatch(int index, int slotsBefore) => index;
    }
}

/// <summary>
/// packed-event-ignores-wrap: the DESC-mode test loses the lap of the driver's event. The wrap bit of off_wrap is dropped,
/// so the offset counts in whichever lap the used descriptors just passed it: an event the driver set a lap away fires now.
/// </summary>
public sealed class PackedEventIgnoresWrap() : ZooDeviation(DeviceFault.PackedEventIgnoresWrap)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { PackedRings = new Rules(seams.PackedRings) };

    private sealed class Rules(IPackedRingRules inner) : PackedRingRulesDecorator(inner)
    {
        public override bool EventReached(ushort offWrap, int size, PackedPosition old, PackedPosition now) =>
            base.EventReached((ushort)(offWrap & ~PackedRing.OffWrapWrapBit), size, old, now)
            || base.EventReached((ushort)(offWrap | PackedRing.OffWrapWrapBit), size, old, now);
    }
}

/// <summary>
/// packed-rx-batch-ignores-next, as DPDK's vhost has it from 22.11 to at least mid-2026 (virtio_dev_rx_sync_batch_check, found
/// by this suite against testpmd): the receive batch path takes four available descriptors as four buffers without looking
/// at NEXT, so a receive list whose first descriptor holds a packet is split into buffers of one descriptor each. Here a
/// device-writable descriptor of 64 bytes or more on a receive ring (an even ring below the controlq's readable lists)
/// ends its list.
/// </summary>
public sealed class PackedRxBatchIgnoresNext() : ZooDeviation(DeviceFault.PackedRxBatchIgnoresNext)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { PackedRings = new Rules(seams.PackedRings) };

    private sealed class Rules(IPackedRingRules inner) : PackedRingRulesDecorator(inner)
    {
        public override bool ListGoesOn(int ring, ushort flags, uint length) =>
            base.ListGoesOn(ring, flags, length) && !(ring % 2 == 0 && (flags & PackedRing.DescFWrite) != 0 && length >= 64);
    }
}

/// <summary>
/// packed-avail-ignores-used (synthetic): a descriptor counts as available when its AVAIL bit equals the wrap counter,
/// whatever its USED bit says, so a descriptor showing used flags in this lap is taken up.
/// </summary>
public sealed class PackedAvailIgnoresUsed() : ZooDeviation(DeviceFault.PackedAvailIgnoresUsed)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Rings = new Rules(seams.Rings) };

    private sealed class Rules(IRingRules inner) : RingRulesDecorator(inner)
    {
        public override bool IsAvailable(ushort flags, bool wrap) => (flags & PackedRing.DescFAvail) != 0 == wrap;
    }
}

/// <summary>
/// packed-avail-ignores-wrap (synthetic): a descriptor counts as available when its AVAIL and USED bits differ, whichever
/// lap they belong to, so the other lap's available descriptor still in the next slot is taken up again.
/// </summary>
public sealed class PackedAvailIgnoresWrap() : ZooDeviation(DeviceFault.PackedAvailIgnoresWrap)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Rings = new Rules(seams.Rings) };

    private sealed class Rules(IRingRules inner) : RingRulesDecorator(inner)
    {
        public override bool IsAvailable(ushort flags, bool wrap) => (flags & PackedRing.DescFAvail) != 0 != ((flags & PackedRing.DescFUsed) != 0);
    }
}

/// <summary>
/// packed-takes-ahead (synthetic): a device that finds its next slot not available takes the one after it when that one
/// is, as one that picks up whatever the driver has published would, instead of starting descriptors in ring order.
/// </summary>
public sealed class PackedTakesAhead() : ZooDeviation(DeviceFault.PackedTakesAhead)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { PackedRings = new Rules(seams.PackedRings) };

    private sealed class Rules(IPackedRingRules inner) : PackedRingRulesDecorator(inner)
    {
        public override bool TakesAhead => true;
    }
}

/// <summary>
/// packed-get-base-avail-only, as DPDK 22.11's vhost_user_get_vring_base has it: on a packed ring the reply carries the
/// next available position and avail wrap counter alone, the used half (bits 16-31) left 0. Split rings are answered right.
/// </summary>
public sealed class PackedGetBaseAvailOnly() : ZooDeviation(DeviceFault.PackedGetBaseAvailOnly)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { VhostUser = new Rules(seams.VhostUser) };

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override VringBaseReply GetVringBase(IStoppableRing ring)
        {
            var reply = base.GetVringBase(ring);
            return ring.Format == RingFormat.Packed ? reply with { Next = PackedVringBase.Decode(reply.Next).Avail.Encode() } : reply;
        }
    }
}
