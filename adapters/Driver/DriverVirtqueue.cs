using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.Driver;

/// <summary>
/// The driver side of one virtqueue, in either format: split (<see cref="SplitDriverVirtqueue"/>, §2.7) or packed
/// (<see cref="PackedDriverVirtqueue"/>, §2.8). Checks add buffers, publish them and take them back through this class
/// alone, so every rule family runs in both formats; the few checks that write one format's memory by hand declare it.
/// </summary>
public abstract class DriverVirtqueue
{
    /// <summary>A ring of the format <paramref name="format"/>, laid out in guest memory by <paramref name="allocator"/>.</summary>
    /// <param name="startIndex">Where a resumed ring starts (see <see cref="DriverOptions.DataRingStartIndex"/>); 0 after a reset.</param>
    /// <param name="inOrder">VIRTIO_F_IN_ORDER was negotiated: descriptors go in ring order and the device may return batches (§2.7.9, §2.8.8).</param>
    public static DriverVirtqueue Create(RingFormat format, GuestMemory memory, GuestAllocator allocator, int index, int size, bool eventIdx,
        ushort startIndex = 0, bool packedIdInLastOnly = false, bool inOrder = false) => format switch
        {
            RingFormat.Packed => new PackedDriverVirtqueue(memory, allocator, index, size, eventIdx, startIndex, packedIdInLastOnly, inOrder),
            _ => new SplitDriverVirtqueue(memory, allocator, index, size, eventIdx, startIndex, inOrder),
        };

    public abstract RingFormat Format { get; }
    public abstract int Index { get; }
    public abstract int Size { get; }

    /// <summary>The three addresses the transport carries: descriptors, driver area, device area.</summary>
    public abstract QueueRegisters Registers { get; }

    /// <summary>Descriptors (split: table entries; packed: ring slots) free for new buffers.</summary>
    public abstract int FreeDescriptors { get; }

    /// <summary>Buffers made available and not yet taken back used.</summary>
    public abstract int Outstanding { get; }

    /// <summary>
    /// Adds one buffer: device-readable segments first, then device-writable ones of the given lengths (each at most a
    /// slot). With <paramref name="indirect"/> the buffer's descriptors go in an indirect table. Returns the buffer's
    /// token (split: the head descriptor; packed: the Buffer ID), or null when the ring has no room.
    /// </summary>
    public abstract ushort? Add(IReadOnlyList<byte[]> readable, IReadOnlyList<int> writableLengths, object? tag = null, bool indirect = false);

    /// <summary>The guest address of writable segment <paramref name="n"/> of an outstanding buffer.</summary>
    public abstract ulong WritableAddressOf(ushort head, int n);

    /// <summary>Makes everything added so far visible to the device and says whether the device wants a notification.</summary>
    public abstract bool Publish();

    /// <summary>
    /// Buffers made available so far (mod 65536), counted from the ring's start index. For a split ring this is the avail
    /// idx in memory; a packed ring has no such field, and the driver counts.
    /// </summary>
    public abstract ushort PublishedIdx { get; }

    /// <summary>
    /// Buffers the device has returned used so far (mod 65536), counted like <see cref="PublishedIdx"/>. For a split ring
    /// this is the used idx in memory; for a packed ring, the buffers taken back plus the used descriptors the device has
    /// written since, read from the ring.
    /// </summary>
    public abstract ushort DeviceUsedIdx { get; }

    /// <summary>
    /// How far the device says it has taken buffers, where the format lets it say so: a split ring's avail_event with
    /// EVENT_IDX (§2.7.10). Null otherwise. It tells "never took them" from "took them and never returned them used".
    /// </summary>
    public virtual ushort? DeviceAvailEvent => null;

    /// <summary>
    /// Takes the next used buffer, if any, and frees its descriptors and slots. With IN_ORDER one used entry may return a
    /// batch; its buffers then come out one per call, the skipped ones marked <see cref="UsedBuffer.InOrderSkipped"/>.
    /// </summary>
    public abstract UsedBuffer? TakeUsed();

    /// <summary>Where a descriptor's flags sit in this format's 16-byte descriptor: 12 in a split one, 14 in a packed one.</summary>
    public abstract int DescriptorFlagsOffset { get; }

    /// <summary>
    /// The guest address of descriptor <paramref name="i"/> of the outstanding buffer <paramref name="head"/>, in the order
    /// the device walks them (split: the table entries its next fields link; packed: consecutive ring slots). For a buffer
    /// in an indirect table, descriptor 0 is the one that points at the table. Checks of malformed buffers rewrite them.
    /// </summary>
    public abstract ulong DescriptorAddress(ushort head, int i);

    /// <summary>
    /// Rewrites the flags (NEXT, WRITE, INDIRECT) of descriptor <paramref name="i"/> of an outstanding buffer not yet
    /// published; a packed ring keeps the AVAIL/USED bits its place needs, and a first descriptor's flags still held back
    /// until <see cref="Publish"/> are changed there.
    /// </summary>
    public abstract void RewriteFlags(ushort head, int i, ushort flags);

    /// <summary>
    /// Packed rings: writes <paramref name="flags"/>, AVAIL and USED bits as given, into descriptor <paramref name="i"/> of a
    /// buffer added and not yet published, for the device to read until <see cref="Publish"/>, which still writes the
    /// buffer's own flags. How a check shows the device a descriptor that is not available. A split ring has no such
    /// flags: its buffers become available through the avail idx.
    /// </summary>
    public virtual void ShowFlags(ushort head, int i, ushort flags) =>
        throw new NotSupportedException($"{this}: only a packed ring makes a descriptor available by its flags");

    /// <summary>Packed rings: the slot and wrap counter of an outstanding buffer's first descriptor.</summary>
    public virtual PackedPosition FirstSlotOf(ushort head) =>
        throw new NotSupportedException($"{this}: only a packed ring places buffers at slots with a wrap counter");

    /// <summary>
    /// Packed rings: makes one buffer added and not yet published available now, ahead of the ones added before it, as a
    /// driver publishing a batch last-first does for a moment (§2.8.21.3).
    /// </summary>
    public virtual void PublishAhead(ushort head) =>
        throw new NotSupportedException($"{this}: only a packed ring makes buffers available one by one out of order");

    /// <summary>
    /// The vring base (vhost-user GET_VRING_BASE) of a device that has taken and returned every buffer published so far:
    /// a split ring's avail idx; a packed ring's next descriptor, as both the avail and the used position.
    /// </summary>
    public abstract uint DrainedVringBase { get; }

    /// <summary>
    /// Where a device that lost this ring's state resumes it, in vhost-user's vring base form: at the first buffer the
    /// driver has not taken back used. QEMU restarts a ring so when a back-end comes back after a disconnect (with no
    /// inflight tracking): buffers still available are taken again, used ones are not. The driver must have taken every
    /// used buffer first, or a packed ring's position is behind the device's.
    /// </summary>
    public abstract uint RestartVringBase { get; }

    /// <summary>A vring base as this format reads it, for messages.</summary>
    public virtual string DescribeVringBase(uint vringBase) => vringBase.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Asks for a used buffer notification after every use (split: avail flags 0; packed: Driver Event Suppression ENABLE).
    /// Without EVENT_IDX this is what a driver that wants interrupts writes.
    /// </summary>
    public abstract void AskForEveryNotification();

    /// <summary>
    /// Asks for no used buffer notification for the entries the device writes next, in the way this format and
    /// <paramref name="eventIdx"/> allow (split: VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event one behind used idx with EVENT_IDX;
    /// packed: Driver Event Suppression DISABLE).
    /// </summary>
    public abstract void AskForNoNotification(bool eventIdx);

    /// <summary>
    /// With EVENT_IDX, asks for a notification when the device writes the used entry <paramref name="entry"/> places after
    /// the ones it has written so far (negative: before them). Split: used_event = used idx + entry, and the avail flags
    /// carry <paramref name="noInterrupt"/>, which EVENT_IDX tells the device to ignore. Packed: DESC mode at the ring position
    /// the entry's used descriptor takes when each buffer takes <paramref name="descriptorsPerBuffer"/> descriptors.
    /// </summary>
    public abstract void AskForNotificationAt(int entry, int descriptorsPerBuffer, bool noInterrupt);

    /// <summary>
    /// A used entry the device wrote where the driver never looks, described; null when there is none or the format cannot
    /// tell (a split ring's used entries follow each other whatever the chains were).
    /// </summary>
    public virtual string? UsedOutOfStep() => null;

    /// <summary>Which format and position, for failure messages.</summary>
    public override string ToString() => $"{Format} vq {Index} (size {Size})";
}
