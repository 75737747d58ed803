using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Adapters.VhostUser.FrontEnd;

/// <summary>
/// The device side of the controlq as a packed ring (§2.8), served when the driver negotiated VIRTIO_F_RING_PACKED:
/// the descriptor ring at <see cref="QueueRegisters.Desc"/>, the driver event suppression structure at
/// <see cref="QueueRegisters.Avail"/> (read here: it governs used buffer notifications) and the device event
/// suppression structure at <see cref="QueueRegisters.Used"/> (written here: it governs the driver's kicks). Written
/// from §2.8 for the suite alone, like <see cref="SplitControlqRing"/>: neither the suite's driver nor the reference
/// device shares its code.
/// </summary>
/// <remarks>
/// The front-end uses every chain before it looks at the next, so used descriptors go in the order chains were made
/// available, each over the first slot of its chain, and the used position then skips the chain's other slots
/// (§2.8.2, §2.8.6).
/// </remarks>
internal sealed class PackedControlqRing : IControlqRing
{
    private readonly GuestMemory _memory;
    private readonly QueueRegisters _ring;
    private readonly bool _eventIdx;
    private readonly bool _indirect;

    // The next slot to look at and the driver wrap counter an available descriptor there carries (§2.8.1).
    private PackedPosition _nextAvail;

    // Where the next used descriptor goes, and the device's used wrap counter.
    private PackedPosition _nextUsed;
    private PackedPosition _usedAtLastNotification;
    private bool _usedSinceNotification;

    /// <param name="start">Where both sides start; <see cref="PackedVringBase.Start"/> (offset 0, wrap counters 1) after a reset.</param>
    /// <exception cref="ArgumentException">The ring is not a valid packed ring inside guest memory.</exception>
    public PackedControlqRing(GuestMemory memory, QueueRegisters ring, bool eventIdx, bool indirect, PackedVringBase? start = null)
    {
        // Unlike a split ring, a packed ring need not be a power of two (§2.8.10.1).
        if (ring.Size is < 1 or > PackedRing.MaxQueueSize)
            throw new ArgumentException($"packed controlq size {ring.Size} is not 1 to {PackedRing.MaxQueueSize}");
        if (!memory.Contains(ring.Desc, PackedRing.DescriptorRingBytes(ring.Size))
            || !memory.Contains(ring.Avail, PackedRing.EventSuppressionSize) || !memory.Contains(ring.Used, PackedRing.EventSuppressionSize))
            throw new ArgumentException(
                $"packed controlq desc=0x{ring.Desc:x} driver area=0x{ring.Avail:x} device area=0x{ring.Used:x} is not inside guest memory");
        var s = start ?? PackedVringBase.Start;
        if (s.Avail.Offset >= ring.Size || s.Used.Offset >= ring.Size)
            throw new ArgumentException($"packed controlq start ({s}) lies outside its {ring.Size} descriptors");
        _memory = memory;
        _ring = ring;
        _eventIdx = eventIdx;
        _indirect = indirect;
        _nextAvail = s.Avail;
        _nextUsed = _usedAtLastNotification = s.Used;
        // Kicks: with VIRTIO_F_EVENT_IDX only for the descriptor the front-end will look at next, as the split ring's
        // avail_event asks; without it for every one (§2.8.10).
        _memory.WriteU16(ring.Used + PackedRing.EventOffWrapOffset, _nextAvail.Encode());
        _memory.WriteU16Release(ring.Used + PackedRing.EventFlagsOffset, eventIdx ? PackedRing.EventFlagsDesc : PackedRing.EventFlagsEnable);
    }

    /// <summary>
    /// Always false: a packed ring has no index a driver can push past the ring's size, and a malformed chain (even
    /// one that chains more descriptors than the ring holds) is refused and given back like any other.
    /// </summary>
    public bool Broken => false;

    /// <summary>Where the front-end looks for the next available descriptor, and where it puts the next used one.</summary>
    public PackedVringBase Position => new(_nextAvail, _nextUsed);

    /// <inheritdoc/>
    public ControlRequest? Take(Action<string> refused)
    {
        while (NextChain() is { } chain)
        {
            try
            {
                return Read(chain);
            }
            catch (Refusal r)
            {
                refused($"controlq: chain at {chain.At} (buffer id {chain.Id}, {chain.Descriptors.Count} descriptor(s)) refused: {r.Message}");
                GiveBack(chain.Id, chain.Descriptors.Count, 0);
            }
        }
        return null;
    }

    public void GiveBack(ControlRequest request, uint written) => GiveBack(request.Head, request.RingSlots, written);

    /// <summary>
    /// Writes one used descriptor over the slot at the used position: id and len first, then the flags with a release
    /// store, so the driver never sees USED ahead of the length (§2.8.1, §2.8.4). WRITE says whether anything was written.
    /// </summary>
    private void GiveBack(ushort id, int slots, uint written)
    {
        var at = Slot(_nextUsed.Offset);
        _memory.WriteU32(at + PackedRing.LenOffset, written);
        _memory.WriteU16(at + PackedRing.IdOffset, id);
        var flags = (ushort)(PackedRing.UsedFlags(_nextUsed.Wrap) | (written > 0 ? PackedRing.DescFWrite : 0));
        _memory.WriteU16Release(at + PackedRing.FlagsOffset, flags);
        _nextUsed = _nextUsed.Advance(slots, _ring.Size);
        _usedSinceNotification = true;
    }

    /// <summary>
    /// Whether the chains given back since the last call owe the driver a notification, as its event suppression
    /// structure says (§2.8.10): ENABLE always, DISABLE never, DESC (with VIRTIO_F_EVENT_IDX) when the descriptor it
    /// names is among the slots the used position stepped over since. DESC without VIRTIO_F_EVENT_IDX and the reserved
    /// value 3 notify: a notification too many loses nothing.
    /// </summary>
    public bool TakeNotificationOwed()
    {
        if (!_usedSinceNotification) return false;
        var since = _usedAtLastNotification;
        _usedAtLastNotification = _nextUsed;
        _usedSinceNotification = false;
        Interlocked.MemoryBarrier();
        var mode = _memory.ReadU16(_ring.Avail + PackedRing.EventFlagsOffset) & PackedRing.EventFlagsMask;
        if (mode == PackedRing.EventFlagsDisable) return false;
        if (mode != PackedRing.EventFlagsDesc || !_eventIdx) return true;
        var offWrap = _memory.ReadU16(_ring.Avail + PackedRing.EventOffWrapOffset);
        return PackedRing.EventReached(offWrap, _ring.Size, (since.Offset, since.Wrap), (_nextUsed.Offset, _nextUsed.Wrap));
    }

    private ulong Slot(int offset) => _ring.Desc + (ulong)PackedRing.DescriptorSize * (ulong)offset;

    private ushort FlagsAt(PackedPosition p) => _memory.ReadU16Acquire(Slot(p.Offset) + PackedRing.FlagsOffset);

    /// <summary>
    /// The chain at the next slot, or null when that slot is not available. It follows NEXT through the slots after it
    /// (the driver made them available before the first, §2.8.17), stopping at a slot that is not available or once
    /// the chain holds every slot of the ring; what it took is one chain either way, so the ring stays in step.
    /// </summary>
    private Chain? NextChain()
    {
        var flags = FlagsAt(_nextAvail);
        if (!PackedRing.IsAvailable(flags, _nextAvail.Wrap) && _eventIdx)
        {
            // Say where we stopped, then look once more: a driver that made the slot available meanwhile may have read
            // the old off_wrap and not kicked.
            _memory.WriteU16(_ring.Used + PackedRing.EventOffWrapOffset, _nextAvail.Encode());
            Interlocked.MemoryBarrier();
            flags = FlagsAt(_nextAvail);
        }
        if (!PackedRing.IsAvailable(flags, _nextAvail.Wrap)) return null;
        var at = _nextAvail;
        var position = at;
        var descriptors = new List<Descriptor>();
        string? unfinished = null;
        while (true)
        {
            var slot = Slot(position.Offset);
            descriptors.Add(new Descriptor(_memory.ReadU64(slot + PackedRing.AddrOffset), _memory.ReadU32(slot + PackedRing.LenOffset),
                _memory.ReadU16(slot + PackedRing.IdOffset), flags));
            position = position.Advance(1, _ring.Size);
            if ((flags & PackedRing.DescFNext) == 0) break;
            if (descriptors.Count == _ring.Size)
            {
                unfinished = $"NEXT on all {_ring.Size} descriptors of the ring: the list is longer than the queue size";
                break;
            }
            flags = FlagsAt(position);
            if (!PackedRing.IsAvailable(flags, position.Wrap))
            {
                unfinished = $"NEXT leads to slot {position}, which is not available (flags 0x{flags:x4}): a list's first descriptor goes last";
                break;
            }
        }
        _nextAvail = position;
        if (_eventIdx) _memory.WriteU16Release(_ring.Used + PackedRing.EventOffWrapOffset, _nextAvail.Encode());
        return new Chain(at, descriptors, unfinished);
    }

    /// <summary>Reads one chain (through its indirect table where it has one), checking every step against §2.8.</summary>
    private ControlRequest Read(Chain chain)
    {
        if (chain.Unfinished is { } why) throw new Refusal(why);
        var command = new List<byte>();
        var writable = new List<(ulong, uint)>();
        var elements = chain.Descriptors;
        if (elements.Any(d => (d.Flags & PackedRing.DescFIndirect) != 0))
        {
            if (!_indirect) throw new Refusal("an INDIRECT descriptor, but VIRTIO_F_INDIRECT_DESC was not negotiated");
            if (elements.Count > 1) throw new Refusal("an INDIRECT descriptor in a list chained with NEXT (§2.8.19)");
            elements = ReadTable(elements[0]);
        }
        foreach (var (address, length, _, flags) in elements)
        {
            if (length > 0 && !_memory.Contains(address, (int)Math.Min(length, int.MaxValue)))
                throw new Refusal($"buffer 0x{address:x}+{length} is outside guest memory");
            if ((flags & PackedRing.DescFWrite) != 0)
                writable.Add((address, length));
            else if (writable.Count > 0)
                throw new Refusal("a device-readable descriptor after a device-writable one");
            else if (command.Count < IControlqRing.MaxCommandBytes)
                command.AddRange(_memory.Span(address, (int)Math.Min(length, (uint)(IControlqRing.MaxCommandBytes - command.Count))).ToArray());
        }
        return new ControlRequest(chain.Id, [.. command], writable, chain.Descriptors.Count);
    }

    /// <summary>
    /// The len/16 packed descriptors of an indirect table, in order (§2.8.7). Only WRITE counts in them: every other flag
    /// and the Buffer ID are reserved and ignored, as is WRITE on the descriptor that points at the table.
    /// </summary>
    private List<Descriptor> ReadTable(Descriptor indirect)
    {
        var (address, length) = (indirect.Address, indirect.Length);
        if (length == 0 || length % PackedRing.DescriptorSize != 0 || !_memory.Contains(address, (int)Math.Min(length, int.MaxValue)))
            throw new Refusal($"indirect table 0x{address:x}+{length} is empty, not whole descriptors or outside guest memory");
        // A device may cap a list's length (§2.8.18); this one takes no list longer than the largest queue.
        if (length / PackedRing.DescriptorSize > PackedRing.MaxQueueSize)
            throw new Refusal($"indirect table of {length / PackedRing.DescriptorSize} descriptors, more than the {PackedRing.MaxQueueSize} a list may have here");
        var table = new List<Descriptor>();
        for (var at = address; at < address + length; at += PackedRing.DescriptorSize)
        {
            var flags = (ushort)(_memory.ReadU16(at + PackedRing.FlagsOffset) & PackedRing.DescFWrite);
            table.Add(new Descriptor(_memory.ReadU64(at + PackedRing.AddrOffset), _memory.ReadU32(at + PackedRing.LenOffset), 0, flags));
        }
        return table;
    }

    private readonly record struct Descriptor(ulong Address, uint Length, ushort Id, ushort Flags);

    /// <summary>The slots one chain took, from <paramref name="At"/>; the Buffer ID is its last descriptor's (§2.8.6).</summary>
    private sealed record Chain(PackedPosition At, List<Descriptor> Descriptors, string? Unfinished)
    {
        public ushort Id => Descriptors[^1].Id;
    }

    private sealed class Refusal(string message) : Exception(message);
}
