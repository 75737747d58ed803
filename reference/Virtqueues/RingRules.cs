using VirtioMq.Spec;

namespace VirtioMq.Reference.Virtqueues;

/// <summary>
/// How the device reads a ring's available side, split (§2.7.6) or packed (§2.8.1), and what it does with a chain it
/// refuses. The bug zoo plugs its ring faults in here.
/// </summary>
public interface IRingRules
{
    /// <summary>Whether the device takes buffers from <paramref name="ring"/> at all.</summary>
    bool Serves(IDeviceVirtqueue ring);

    /// <summary>Split: whether the driver's <paramref name="availIdx"/> shows no buffer past <paramref name="lastAvailIdx"/>.</summary>
    bool IsEmpty(ushort availIdx, ushort lastAvailIdx);

    /// <summary>Packed: whether a descriptor with <paramref name="flags"/> is available to a device whose avail wrap counter is <paramref name="wrap"/>.</summary>
    bool IsAvailable(ushort flags, bool wrap);

    /// <summary>What becomes of <paramref name="chain"/>, which <paramref name="ring"/> just took and refused.</summary>
    void Refused(IDeviceVirtqueue ring, ChainHandle chain);
}

/// <summary>
/// The rings as the spec has them. Split (§2.7): the indices run free and are compared modulo 65536. Packed (§2.8.1): a
/// descriptor is available when its AVAIL bit equals the device's wrap counter and its USED bit does not. Either way a
/// refused chain is returned used with length 0, so one bad buffer never stalls the queue.
/// </summary>
public sealed class RingRules : IRingRules
{
    public static RingRules Instance { get; } = new();

    public bool Serves(IDeviceVirtqueue ring) => true;

    public bool IsEmpty(ushort availIdx, ushort lastAvailIdx) => availIdx == lastAvailIdx;

    public bool IsAvailable(ushort flags, bool wrap) => PackedRing.IsAvailable(flags, wrap);

    public void Refused(IDeviceVirtqueue ring, ChainHandle chain) => ring.ReturnRefused(chain);
}

/// <summary>
/// The parts of a packed ring (§2.8) where device implementations have gone wrong, apart from reading availability
/// (<see cref="IRingRules"/>): which descriptor of a list names its buffer, where each used descriptor of a batch goes,
/// and when the driver's DESC event is reached. The bug zoo plugs its packed-ring faults in here.
/// </summary>
public interface IPackedRingRules
{
    /// <summary>The Buffer ID of a list whose first descriptor carries <paramref name="firstId"/> and whose last carries <paramref name="lastId"/>.</summary>
    ushort ListBufferId(ushort firstId, ushort lastId);

    /// <summary>
    /// How many slots past a batch's first used slot the used descriptor of its list number <paramref name="index"/> (from 0)
    /// goes, the lists before it in the batch having taken <paramref name="slotsBefore"/> slots.
    /// </summary>
    int UsedSlotInBatch(int index, int slotsBefore);

    /// <summary>
    /// Whether the list goes on after a descriptor with <paramref name="flags"/> and length <paramref name="length"/>, read
    /// from ring <paramref name="ring"/>.
    /// </summary>
    bool ListGoesOn(int ring, ushort flags, uint length);

    /// <summary>Whether the device, finding its next slot not available, takes the one after it if that one is.</summary>
    bool TakesAhead { get; }

    /// <summary>
    /// DESC mode: whether <paramref name="offWrap"/>, the driver's event offset and wrap bit, lies among the used positions
    /// from <paramref name="old"/> (exclusive) to <paramref name="now"/> (inclusive) of a ring of <paramref name="size"/>.
    /// </summary>
    bool EventReached(ushort offWrap, int size, PackedPosition old, PackedPosition now);
}

/// <summary>
/// Packed rings as the spec has them: the Buffer ID is in the list's last descriptor (ring.packed.def.next-flag); a used
/// descriptor goes right after the slots of the lists before it, so each one skips its whole list
/// (ring.packed.dev.chain-one-used); the DESC event names one position on the circle of two laps, the wrap bit telling
/// which (ring.packed.dev.driver-event-modes).
/// </summary>
public sealed class PackedRingRules : IPackedRingRules
{
    public static PackedRingRules Instance { get; } = new();

    public ushort ListBufferId(ushort firstId, ushort lastId) => lastId;

    public int UsedSlotInBatch(int index, int slotsBefore) => slotsBefore;

    public bool ListGoesOn(int ring, ushort flags, uint length) => (flags & PackedRing.DescFNext) != 0;

    // Descriptors are started in ring order (ring.packed.dev.process-in-ring-order): the device waits for its next slot.
    public bool TakesAhead => false;

    public bool EventReached(ushort offWrap, int size, PackedPosition old, PackedPosition now) =>
        PackedRing.EventReached(offWrap, size, (old.Offset, old.Wrap), (now.Offset, now.Wrap));
}
