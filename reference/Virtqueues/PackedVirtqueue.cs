using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.Virtqueues;

/// <summary>
/// The device side of one packed virtqueue (§2.8), the counterpart of <see cref="SplitVirtqueue"/>. One ring of 16-byte
/// descriptors (the Descriptor Area) that the driver makes available and the device overwrites with used descriptors,
/// the Driver Event Suppression structure (the Driver Area, which the device only reads: it governs used buffer
/// notifications) and the Device Event Suppression structure (the Device Area, which the device writes: it governs
/// available buffer notifications). Nothing in memory tells where either side is, so the device keeps its next
/// available and next used position, each with its wrap counter; vhost-user's GET/SET_VRING_BASE carries both
/// (<see cref="PackedVringBase"/>).
/// </summary>
public sealed class PackedVirtqueue : IDeviceVirtqueue
{
    private readonly GuestMemory _mem;
    private readonly bool _eventIdx;
    private readonly bool _indirect;
    private readonly IRingRules _rules;
    private readonly IPackedRingRules _packed;
    // With IN_ORDER: the buffers used since the last publication, written out as batches then.
    private readonly InOrderBatches? _inOrder;
    // Reused by every walk; each chain gets an exact-size copy.
    private readonly List<Segment> _walk = [];

    // Where the walk under way got to: the ring slots it took and the id of the last descriptor read. A refused chain is
    // returned with these, so the used side skips exactly what the available side took.
    private int _walkSlots;
    private ushort _walkFirstId;
    private ushort _walkId;
    private ushort _walkFlags;

    // The first used descriptor added since the last publication: its flags are written last, so the driver, which
    // watches only the next slot, sees the whole batch at once or none of it (ring.packed.dev.multi-buffer-first-last).
    private ulong? _pendingFlagsAt;
    private ushort _pendingFlags;
    private int _addedLists;
    private int _addedSlots;

    // The used position the driver can see, the one at the last notification decision, and the slots published since.
    private PackedPosition _published;
    private PackedPosition _lastNotified;
    private long _publishedSinceNotified;

    /// <param name="driverArea">The Driver Event Suppression structure (QueueRegisters.Avail).</param>
    /// <param name="deviceArea">The Device Event Suppression structure (QueueRegisters.Used).</param>
    /// <param name="inOrder">The batch rules when VIRTIO_F_IN_ORDER was negotiated (§2.8.8); null without it.</param>
    public PackedVirtqueue(GuestMemory memory, int index, int size, ulong desc, ulong driverArea, ulong deviceArea, bool eventIdx, bool indirect,
        IRingRules? rules = null, IPackedRingRules? packedRules = null, IInOrderRules? inOrder = null)
    {
        // Any size from 1 to 2^15: the packed format has no power-of-two rule (ring.packed.def.sizes-alignment).
        if (size is < 1 or > PackedRing.MaxQueueSize)
            throw new ChainError($"queue {index}: size {size} is not from 1 to {PackedRing.MaxQueueSize}");
        if (!memory.Contains(desc, PackedRing.DescriptorRingBytes(size)) || !memory.Contains(driverArea, PackedRing.EventSuppressionSize)
            || !memory.Contains(deviceArea, PackedRing.EventSuppressionSize))
            throw new ChainError($"queue {index}: ring addresses desc=0x{desc:x} driver=0x{driverArea:x} device=0x{deviceArea:x} are not inside guest memory");
        _mem = memory;
        Index = index;
        Size = size;
        Desc = desc;
        DriverArea = driverArea;
        DeviceArea = deviceArea;
        _eventIdx = eventIdx;
        _indirect = indirect;
        _rules = rules ?? RingRules.Instance;
        _packed = packedRules ?? PackedRingRules.Instance;
        _inOrder = inOrder is null ? null : new InOrderBatches(inOrder);
        SetPositions(PackedVringBase.Start);
    }

    public RingFormat Format => RingFormat.Packed;
    public int Index { get; }
    public int Size { get; }
    public ulong Desc { get; }
    public ulong DriverArea { get; }
    public ulong DeviceArea { get; }

    /// <summary>The slot the device looks at for the next available descriptor, with its avail wrap counter.</summary>
    public PackedPosition NextAvail { get; private set; }

    /// <summary>The slot the device writes its next used descriptor to, with its used wrap counter (counting what is added, published or not).</summary>
    public PackedPosition NextUsed { get; private set; }

    /// <summary>Always false: a packed ring cannot be overrun, since the driver can only make available slots it owns.</summary>
    public bool Broken => false;

    public bool HasAvailable => _rules.IsAvailable(_mem.ReadU16Acquire(Slot(NextAvail) + PackedRing.FlagsOffset), NextAvail.Wrap);

    /// <summary>Both positions as vhost-user carries them (<see cref="PackedVringBase"/>).</summary>
    public uint VringBase => new PackedVringBase(NextAvail, NextUsed).Encode();

    /// <summary>
    /// Goes on from <paramref name="vringBase"/> (<see cref="PackedVringBase"/>), or without one from the start of a fresh
    /// ring: slot 0, both wrap counters 1 (ring.packed.def.wrap-counters).
    /// </summary>
    public void Resume(uint? vringBase)
    {
        var b = vringBase is { } v ? PackedVringBase.Decode(v) : PackedVringBase.Start;
        if (b.Avail.Offset >= Size || b.Used.Offset >= Size)
            throw new ChainError($"queue {Index}: ring base {b} names a slot outside the {Size}-entry ring");
        SetPositions(b);
    }

    private void SetPositions(PackedVringBase b)
    {
        NextAvail = b.Avail;
        NextUsed = _published = _lastNotified = b.Used;
        _pendingFlagsAt = null;
        _inOrder?.Clear();
        _addedLists = 0;
        _addedSlots = 0;
        _publishedSinceNotified = 0;
        // The Device Event Suppression structure is the device's. Without EVENT_IDX it asks for every notification; with
        // it, for the one that makes the next slot the device looks at available, as split's avail_event does.
        _mem.WriteU16(DeviceArea + PackedRing.EventOffWrapOffset, NextAvail.Encode());
        _mem.WriteU16Release(DeviceArea + PackedRing.EventFlagsOffset, _eventIdx ? PackedRing.EventFlagsDesc : PackedRing.EventFlagsEnable);
    }

    /// <summary>
    /// Takes the next available chain: the descriptor at <see cref="NextAvail"/> and, through NEXT, the ones after it,
    /// in ring order (ring.packed.dev.process-in-ring-order). Returns null when that descriptor is not available.
    /// </summary>
    public DescriptorChain? Pop()
    {
        if (!_rules.Serves(this)) return null;
        var start = NextAvail;
        var flags = _mem.ReadU16Acquire(Slot(start) + PackedRing.FlagsOffset);
        if (_packed.TakesAhead && !_rules.IsAvailable(flags, start.Wrap))
        {
            // Not the spec's: the bug zoo's device that takes the next slot when this one is not available yet.
            var ahead = start.Advance(1, Size);
            var aheadFlags = _mem.ReadU16Acquire(Slot(ahead) + PackedRing.FlagsOffset);
            if (_rules.IsAvailable(aheadFlags, ahead.Wrap)) (start, flags) = (ahead, aheadFlags);
        }
        if (!_rules.IsAvailable(flags, start.Wrap))
        {
            if (!_eventIdx) return null;
            // Before concluding "empty": publish where we are, then look again. Without the full barrier the re-read
            // could pass the store, and a driver that just made the slot available could read the old offset, skip its
            // notification, and leave the buffer unseen.
            _mem.WriteU16(DeviceArea + PackedRing.EventOffWrapOffset, start.Encode());
            Interlocked.MemoryBarrier();
            flags = _mem.ReadU16Acquire(Slot(start) + PackedRing.FlagsOffset);
            if (!_rules.IsAvailable(flags, start.Wrap)) return null;
        }
        try
        {
            var chain = Walk(start, flags);
            NextAvail = start.Advance(chain.Slots, Size);
            if (_eventIdx) _mem.WriteU16Release(DeviceArea + PackedRing.EventOffWrapOffset, NextAvail.Encode());
            return chain;
        }
        catch (Exception e) when (e is ChainError or GuestMemoryFault)
        {
            // The whole list is taken, so the next chain starts after it; the refused one goes back used.
            SkipRestOfList(start);
            NextAvail = start.Advance(_walkSlots, Size);
            if (_eventIdx) _mem.WriteU16Release(DeviceArea + PackedRing.EventOffWrapOffset, NextAvail.Encode());
            _rules.Refused(this, new ChainHandle(WalkBufferId, _walkSlots));
            throw new ChainError($"queue {Index}: chain at slot {start} refused: {e.Message}");
        }
    }

    /// <summary>
    /// Returns one chain used: a used descriptor at <see cref="NextUsed"/> (see <see cref="WriteUsed"/>); with IN_ORDER the
    /// chain is held, to go back in a batch when the ring publishes.
    /// </summary>
    public void AddUsed(ChainHandle chain, uint length)
    {
        if (_inOrder is null) WriteUsed(chain.Id, length, chain.Slots);
        else _inOrder.Hold(chain, length);
    }

    /// <summary>With IN_ORDER, writes the held buffers as batches, one used descriptor each.</summary>
    private void WriteHeld()
    {
        while (_inOrder is not null && _inOrder.TryTake(out var b)) WriteUsed(b.Id, b.Length, b.Slots);
    }

    /// <summary>
    /// Writes one used descriptor at <see cref="NextUsed"/> (id = the Buffer ID, len = bytes written, WRITE when any
    /// were, AVAIL and USED = the used wrap counter), then skips the <paramref name="slots"/> the chain took
    /// (ring.packed.dev.chain-one-used), or with IN_ORDER the whole batch's (§2.8.8). The first one since the last
    /// <see cref="PublishUsed"/> gets its flags only then.
    /// </summary>
    private void WriteUsed(ushort id, uint length, int slots)
    {
        // Healthy, the batch's first used slot plus the slots of the lists added before: NextUsed.
        var at = _published.Advance(_packed.UsedSlotInBatch(_addedLists, _addedSlots), Size);
        var d = Slot(at);
        _mem.WriteU16(d + PackedRing.IdOffset, id);
        _mem.WriteU32(d + PackedRing.LenOffset, length);
        var flags = (ushort)(PackedRing.UsedFlags(at.Wrap) | (length > 0 ? PackedRing.DescFWrite : 0));
        if (_pendingFlagsAt is null)
        {
            _pendingFlagsAt = d;
            _pendingFlags = flags;
        }
        else
        {
            _mem.WriteU16Release(d + PackedRing.FlagsOffset, flags);
        }
        slots = _inOrder?.Rules.Step(this, slots) ?? slots;
        NextUsed = NextUsed.Advance(slots, Size);
        _addedLists++;
        _addedSlots += slots;
    }

    /// <summary>Writes the flags of the batch's first used descriptor, after every other one (a release store).</summary>
    public void PublishUsed()
    {
        WriteHeld();
        if (_pendingFlagsAt is { } at)
        {
            _mem.WriteU16Release(at + PackedRing.FlagsOffset, _pendingFlags);
            _pendingFlagsAt = null;
        }
        _published = NextUsed;
        _publishedSinceNotified += _addedSlots;
        _addedLists = 0;
        _addedSlots = 0;
    }

    public void PushUsed(ChainHandle chain, uint length)
    {
        AddUsed(chain, length);
        PublishUsed();
    }

    // Whatever its id, a used descriptor over the slots taken gives them back to the driver.
    public void ReturnRefused(ChainHandle chain) => PushUsed(chain, 0);

    // Back by the slots taken: 2 × Size steps forward is the whole circle of positions and wrap counters.
    public void Untake(ChainHandle chain) => NextAvail = NextAvail.Advance(2 * Size - chain.Slots, Size);

    /// <summary>
    /// Whether the used descriptors published since the last call need a notification, by the driver's flags
    /// (ring.packed.dev.driver-event-modes): ENABLE yes, DISABLE no, DESC (with EVENT_IDX) when one of them lies at the
    /// driver's offset and wrap counter.
    /// </summary>
    public bool TakeNotificationDue()
    {
        if (_publishedSinceNotified == 0) return false;
        var old = _lastNotified;
        var now = _published;
        var passed = _publishedSinceNotified;
        _lastNotified = now;
        _publishedSinceNotified = 0;
        // Stryker disable once all : equivalent with one thread: the barrier orders the used flags stores before the event suppression load for a driver on another core
        Interlocked.MemoryBarrier();
        var mode = _mem.ReadU16(DriverArea + PackedRing.EventFlagsOffset) & PackedRing.EventFlagsMask;
        if (mode == PackedRing.EventFlagsDisable) return false;
        // DESC without EVENT_IDX and the reserved value 3 are no modes a driver may set: a spare notification harms none.
        if (mode != PackedRing.EventFlagsDesc || !_eventIdx) return true;
        // A full circle of positions (two laps) passes every offset and wrap counter the driver can name.
        return passed >= 2L * Size
            || _packed.EventReached(_mem.ReadU16(DriverArea + PackedRing.EventOffWrapOffset), Size, old, now);
    }

    /// <summary>
    /// After a refusal part-way through a list, takes the rest of it too, so that what follows the list is not read as
    /// a buffer of its own and the used descriptor carries the list's Buffer ID (its last descriptor's): the slots
    /// after the last one read, while that one had NEXT, the next is available and the list stays within the ring.
    /// </summary>
    private void SkipRestOfList(PackedPosition start)
    {
        while ((_walkFlags & PackedRing.DescFNext) != 0 && _walkSlots < Size)
        {
            var d = Slot(start.Advance(_walkSlots, Size));
            var flags = _mem.ReadU16Acquire(d + PackedRing.FlagsOffset);
            if (!PackedRing.IsAvailable(flags, start.Advance(_walkSlots, Size).Wrap)) return;
            _walkFlags = flags;
            _walkId = _mem.ReadU16(d + PackedRing.IdOffset);
            _walkSlots++;
        }
    }

    private ulong Slot(PackedPosition p) => Desc + (ulong)PackedRing.DescriptorSize * p.Offset;

    /// <summary>The Buffer ID of the list walked so far: its last descriptor's (ring.packed.def.next-flag).</summary>
    private ushort WalkBufferId => _packed.ListBufferId(_walkFirstId, _walkId);

    private DescriptorChain Walk(PackedPosition start, ushort firstFlags)
    {
        var segments = _walk;
        segments.Clear();
        _walkSlots = 0;
        _walkFirstId = 0;
        _walkId = 0;
        _walkFlags = 0;
        var pos = start;
        var flags = firstFlags;
        var seenWritable = false;
        while (true)
        {
            var d = Slot(pos);
            if (_walkSlots > 0)
            {
                // The driver makes a list's first descriptor available last (ring.packed.drv.first-desc-last), so a
                // later one that is not available means a list the driver never finished.
                flags = _mem.ReadU16Acquire(d + PackedRing.FlagsOffset);
                if (!PackedRing.IsAvailable(flags, pos.Wrap))
                    throw new ChainError($"the list goes on at slot {pos}, which is not available (an incomplete list)");
            }
            _walkSlots++;
            _walkFlags = flags;
            var addr = _mem.ReadU64(d + PackedRing.AddrOffset);
            var len = _mem.ReadU32(d + PackedRing.LenOffset);
            // The Buffer ID is the last descriptor's (ring.packed.def.next-flag): each one read overwrites it.
            _walkId = _mem.ReadU16(d + PackedRing.IdOffset);
            if (_walkSlots == 1) _walkFirstId = _walkId;
            pos = pos.Advance(1, Size);
            if ((flags & PackedRing.DescFIndirect) != 0)
            {
                if (!_indirect) throw new ChainError("INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC");
                if ((flags & PackedRing.DescFNext) != 0) throw new ChainError("descriptor has both INDIRECT and NEXT");
                if (_walkSlots > 1) throw new ChainError("INDIRECT descriptor inside a NEXT list");
                // Its own WRITE flag carries no meaning (ring.packed.dev.indirect-ignore-write-flag).
                WalkIndirect(addr, len, ref seenWritable);
                return new DescriptorChain(WalkBufferId, segments.ToArray(), _walkSlots);
            }
            Add(addr, len, (flags & PackedRing.DescFWrite) != 0, ref seenWritable);
            if (!_packed.ListGoesOn(Index, flags, len)) return new DescriptorChain(WalkBufferId, segments.ToArray(), _walkSlots);
            if (_walkSlots >= Size) throw new ChainError($"the list is longer than the {Size}-entry ring (NEXT on every descriptor)");
        }
    }

    private void WalkIndirect(ulong table, uint len, ref bool seenWritable)
    {
        if (len == 0 || len % PackedRing.DescriptorSize != 0)
            throw new ChainError(len == 0 ? "indirect table is empty (length 0)" : $"indirect table length {len} is not a multiple of 16");
        var entries = len / PackedRing.DescriptorSize;
        // No list may be longer than the queue size (ring.packed.def.list-limit).
        if (entries > Size) throw new ChainError($"indirect table of {entries} descriptors is longer than the {Size}-entry ring");
        if (!_mem.Contains(table, (int)len)) throw new ChainError($"indirect table 0x{table:x}+{len} is outside guest memory");
        for (var i = 0UL; i < entries; i++)
        {
            var e = table + PackedRing.DescriptorSize * i;
            // The table's descriptors follow one another; only WRITE counts in them, every other flag and the Buffer ID
            // are reserved and ignored (ring.packed.dev.indirect-table-ignore), so neither NEXT nor a nested INDIRECT
            // changes the walk.
            var flags = _mem.ReadU16(e + PackedRing.FlagsOffset);
            Add(_mem.ReadU64(e + PackedRing.AddrOffset), _mem.ReadU32(e + PackedRing.LenOffset), (flags & PackedRing.DescFWrite) != 0, ref seenWritable);
        }
    }

    private void Add(ulong addr, uint len, bool writable, ref bool seenWritable)
    {
        if (!writable && seenWritable) throw new ChainError("device-readable descriptor after a device-writable one");
        seenWritable |= writable;
        if (len > 0 && !_mem.Contains(addr, (int)Math.Min(len, int.MaxValue)))
            throw new ChainError($"buffer 0x{addr:x}+{len} is outside guest memory");
        _walk.Add(new Segment(addr, len, writable));
    }
}
