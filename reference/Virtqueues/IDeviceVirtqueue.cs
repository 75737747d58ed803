using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Reference.Virtqueues;

/// <summary>
/// What the device needs to give back a chain it took: the id the driver knows the buffer by (split: the head
/// descriptor's index; packed: the Buffer ID of the list's last descriptor), how far the available side moved to
/// take it (split: one available ring entry; packed: the descriptor ring slots the list took), and its writable bytes
/// (-1 when unknown, as for a refused chain), which decide whether an in-order batch may skip it.
/// </summary>
public readonly record struct ChainHandle(ushort Id, int Slots, long Writable = -1);

/// <summary>
/// The device side of one virtqueue, whatever its format: <see cref="SplitVirtqueue"/> (§2.7) or, with
/// VIRTIO_F_RING_PACKED, <see cref="PackedVirtqueue"/> (§2.8). The data plane, the controlq, the vhost-user back-end
/// and the ring rules of the bug zoo all go through this.
/// </summary>
public interface IDeviceVirtqueue
{
    RingFormat Format { get; }
    int Index { get; }
    int Size { get; }

    /// <summary>Set when the driver put the ring in a state it cannot recover from (a split ring overrun): unusable until reset.</summary>
    bool Broken { get; }

    /// <summary>Whether the driver has made a buffer available that <see cref="Pop"/> would take now.</summary>
    bool HasAvailable { get; }

    /// <summary>
    /// Where the ring is, in the form vhost-user's GET_VRING_BASE carries it: split, the next available index (low 16
    /// bits); packed, <see cref="Spec.VhostUser.PackedVringBase"/> (next available and next used position, each with its
    /// wrap counter).
    /// </summary>
    uint VringBase { get; }

    /// <summary>
    /// Sets where the ring goes on from: <paramref name="vringBase"/> in the form of <see cref="VringBase"/> (vhost-user's
    /// SET_VRING_BASE), or, without one, where a ring the driver has just set up starts. Throws <see cref="ChainError"/>
    /// for a base that names no place in this ring.
    /// </summary>
    void Resume(uint? vringBase);

    /// <summary>
    /// Takes the next available chain, or null when there is none. A malformed chain is consumed, handed to the ring
    /// rules (healthy: returned used with length 0) and reported as a <see cref="ChainError"/>, so one bad buffer never
    /// stalls the queue nor reaches outside memory.
    /// </summary>
    DescriptorChain? Pop();

    /// <summary>Returns one chain used, with <paramref name="length"/> bytes written, without publishing it yet.</summary>
    void AddUsed(ChainHandle chain, uint length);

    /// <summary>Makes every chain returned by <see cref="AddUsed"/> so far visible to the driver.</summary>
    void PublishUsed();

    /// <summary><see cref="AddUsed"/> and <see cref="PublishUsed"/> in one.</summary>
    void PushUsed(ChainHandle chain, uint length);

    /// <summary>Returns a refused chain used with length 0, when the format lets it name a buffer (a split head outside the table names none).</summary>
    void ReturnRefused(ChainHandle chain);

    /// <summary>Puts a chain just taken back on the available side, as if it had never been taken (for the bug zoo).</summary>
    void Untake(ChainHandle chain);

    /// <summary>Whether the chains published since the last call need a used buffer notification.</summary>
    bool TakeNotificationDue();

    /// <summary>
    /// The device side of a virtqueue in the format <paramref name="negotiated"/> selects, not yet resumed (see
    /// <see cref="Resume"/>). Throws <see cref="ChainError"/> for a size or ring addresses the format refuses.
    /// </summary>
    static IDeviceVirtqueue Create(GuestMemory memory, int index, QueueRegisters registers, FeatureSet negotiated, IRingRules? rules = null,
        IPackedRingRules? packedRules = null, IInOrderRules? inOrderRules = null)
    {
        var eventIdx = negotiated.Has(FeatureBit.EventIdx);
        var indirect = negotiated.Has(FeatureBit.IndirectDesc);
        // With IN_ORDER the device returns buffers in batches (§2.7.9, §2.8.8); without it, one used entry each.
        var inOrder = negotiated.Has(FeatureBit.InOrder) ? inOrderRules ?? InOrderRules.Instance : null;
        return negotiated.Has(FeatureBit.RingPacked)
            ? new PackedVirtqueue(memory, index, registers.Size, registers.Desc, registers.Avail, registers.Used, eventIdx, indirect, rules, packedRules,
                inOrder)
            : new SplitVirtqueue(memory, index, registers.Size, registers.Desc, registers.Avail, registers.Used, eventIdx, indirect, rules, inOrder);
    }
}
