namespace VirtioMq.Reference.Virtqueues;

/// <summary>A used buffer held back until the ring publishes, so that an in-order ring can return it inside a batch.</summary>
public readonly record struct HeldUsed(ChainHandle Chain, uint Length);

/// <summary>
/// How a ring with VIRTIO_F_IN_ORDER (§2.7.9, §2.8.8) returns what it used: which buffers a batch may cover without a
/// used entry of their own, which id the batch's one entry carries, and in which order the buffers go back. The bug zoo
/// plugs its in-order faults in here.
/// </summary>
public interface IInOrderRules
{
    /// <summary>
    /// Whether a buffer the device wrote <paramref name="length"/> bytes into, of <paramref name="writable"/> writable bytes
    /// (-1: unknown), may go back inside a batch with no used entry of its own.
    /// </summary>
    bool MaySkip(uint length, long writable);

    /// <summary>The id the used entry of a batch from buffer <paramref name="firstId"/> to buffer <paramref name="lastId"/> carries.</summary>
    ushort BatchId(ushort firstId, ushort lastId);

    /// <summary>Puts the buffers used since the last publication in the order they go back.</summary>
    void Order(List<HeldUsed> held);

    /// <summary>
    /// How far <paramref name="ring"/>'s used side moves past a batch that covers <paramref name="covered"/>: buffers on a
    /// split ring (used idx), descriptor slots on a packed one.
    /// </summary>
    int Step(IDeviceVirtqueue ring, int covered);
}

/// <summary>
/// In-order use as the spec has it: buffers go back in the order they were taken; a batch's one used entry carries its
/// last buffer's id (ring.inorder.def.batch, ring.packed.dev.in-order-batch); and a buffer may go without an entry only
/// when the device used all of it, since the driver takes a skipped buffer as wholly used (ring.inorder.def.skipped-used):
/// a transmit buffer, which the device only reads, always; a receive buffer only when the frame filled it.
/// </summary>
public sealed class InOrderRules : IInOrderRules
{
    public static InOrderRules Instance { get; } = new();

    public bool MaySkip(uint length, long writable) => length == writable;

    public ushort BatchId(ushort firstId, ushort lastId) => lastId;

    public void Order(List<HeldUsed> held) { }

    public int Step(IDeviceVirtqueue ring, int covered) => covered;
}
