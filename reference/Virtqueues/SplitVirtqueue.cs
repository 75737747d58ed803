using System.Buffers.Binary;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Reference.Virtqueues;

/// <summary>
/// The device side of one split virtqueue (§2.7): takes available chains, returns used ones and decides
/// whether the driver must be notified. All ring state lives in guest memory except the device's own
/// last-seen avail index, which vhost-user's GET/SET_VRING_BASE exposes. Its packed counterpart is
/// <see cref="PackedVirtqueue"/>.
/// </summary>
public sealed class SplitVirtqueue : IDeviceVirtqueue
{
    /// <summary>How many entries of one descriptor table a chain can visit without a loop: next is a u16.</summary>
    private const int MaxReachableEntries = 1 << 16;

    private readonly GuestMemory _mem;
    private readonly bool _eventIdx;
    private readonly bool _indirect;
    private readonly IRingRules _rules;
    // With IN_ORDER: the buffers used since the last publication, written out as batches then.
    private readonly InOrderBatches? _inOrder;
    private ushort _lastNotifiedUsed;
    // Reused by every walk; each chain gets an exact-size copy, so a frame costs one small array, not a list.
    private readonly List<Segment> _walk = [];

    /// <param name="inOrder">The batch rules when VIRTIO_F_IN_ORDER was negotiated (§2.7.9); null without it.</param>
    public SplitVirtqueue(GuestMemory memory, int index, int size, ulong desc, ulong avail, ulong used, bool eventIdx, bool indirect,
        IRingRules? rules = null, IInOrderRules? inOrder = null)
    {
        if (size is < 1 or > SplitRing.MaxQueueSize || (size & (size - 1)) != 0)
            // Stryker disable once all : out of reach in-process: the driver picks a power of two up to the maximum the transport shows; a vhost-user SET_VRING_NUM of 0 or 3 is refused here (tests/VhostUser hostile input)
            throw new ChainError($"queue {index}: size {size} is not a power of two up to 32768");
        if (!memory.Contains(desc, SplitRing.DescriptorTableBytes(size)) || !memory.Contains(avail, SplitRing.AvailRingBytes(size))
            || !memory.Contains(used, SplitRing.UsedRingBytes(size)))
            throw new ChainError($"queue {index}: ring addresses desc=0x{desc:x} avail=0x{avail:x} used=0x{used:x} are not inside guest memory");
        _mem = memory;
        Index = index;
        Size = size;
        Desc = desc;
        Avail = avail;
        Used = used;
        _eventIdx = eventIdx;
        _indirect = indirect;
        _rules = rules ?? RingRules.Instance;
        _inOrder = inOrder is null ? null : new InOrderBatches(inOrder);
    }

    public RingFormat Format => RingFormat.Split;
    public int Index { get; }
    public int Size { get; }
    public ulong Desc { get; }
    public ulong Avail { get; }
    public ulong Used { get; }

    /// <summary>The next available-ring index the device will take (free-running).</summary>
    public ushort LastAvailIdx
    {
        get => _lastAvailIdx;
        set => _lastAvailIdx = _availSeen = value; // the next Pop reads avail idx afresh
    }

    private ushort _lastAvailIdx;

    /// <summary>The next available-ring index, in the low 16 bits.</summary>
    public uint VringBase => LastAvailIdx;

    /// <summary>
    /// Takes used idx from the used ring in memory, then goes on taking buffers at <paramref name="vringBase"/>, or
    /// without one where used idx is: every buffer made available before was returned.
    /// </summary>
    public void Resume(uint? vringBase)
    {
        // Stryker disable all : equivalent in-process: the driver zeroes every ring it sets up, so used idx and the resume point are 0 either way; they matter for a vhost-user ring resumed at SET_VRING_BASE (VhostUserResumeTests over the socket)
        SyncUsedIdxFromMemory();
        _inOrder?.Clear();
        LastAvailIdx = vringBase is { } b ? (ushort)b : UsedIdx;
        // Stryker restore all
    }

    // The driver keeps writing avail idx, so each read of it fetches a cache line the other side owns. Pop reads
    // it only once the buffers it announced last time are all taken: once per batch instead of once per buffer.
    private ushort _availSeen;

    /// <summary>
    /// The device's used idx (free-running), counting elements written whether published yet or not (with IN_ORDER, the
    /// buffers held for a batch count once it is written); starts where the used ring in memory says.
    /// </summary>
    public ushort UsedIdx { get; private set; }

    /// <summary>Set when the driver exposed more buffers than the ring holds: the queue is unusable until reset.</summary>
    public bool Broken { get; private set; }

    // Stryker disable once all : equivalent in-process: the driver zeroes every ring it sets up, so used idx reads 0 wherever it is read from; a vhost-user ring resumed with used entries is where it counts (tests/VhostUser)
    public void SyncUsedIdxFromMemory() => UsedIdx = _mem.ReadU16(Used + 2);

    // Stryker disable once all : used only by the vhost-user back-end's turn budget, which the in-process suite never runs (tests/VhostUser covers it)
    public bool HasAvailable => !Broken && _mem.ReadU16Acquire(Avail + 2) != LastAvailIdx;

    /// <summary>
    /// Takes the next available chain. Returns null when none is available. A malformed chain is consumed,
    /// returned as used with length 0, and reported as a <see cref="ChainError"/>, so one bad buffer never
    /// stalls the queue nor reaches outside memory.
    /// </summary>
    public DescriptorChain? Pop()
    {
        if (Broken || !_rules.Serves(this)) return null;
        if (_availSeen == _lastAvailIdx)
        {
            var availIdx = _mem.ReadU16Acquire(Avail + 2);
            // Stryker disable all : equivalent with one thread on a ring that starts at 0: the store after the last pop already left avail_event at _lastAvailIdx, and the re-read sees what the first read saw; the block closes a race with a driver on another core and covers a ring resumed elsewhere (vhost-user SET_VRING_BASE)
            if (availIdx == _lastAvailIdx && _eventIdx)
            {
                // Before concluding "empty": publish where we are, then look again. Without the full barrier the
                // re-read could pass the avail_event store, and a driver that just added a buffer could read the
                // old avail_event, skip its kick, and leave the buffer unseen (§2.7.10).
                _mem.WriteU16(Used + (ulong)SplitRing.AvailEventOffset(Size), _lastAvailIdx);
                Interlocked.MemoryBarrier();
                availIdx = _mem.ReadU16Acquire(Avail + 2);
            }
            // Stryker restore all
            if (_rules.IsEmpty(availIdx, _lastAvailIdx)) return null;
            if ((ushort)(availIdx - _lastAvailIdx) > Size)
            {
                Broken = true;
                throw new ChainError($"queue {Index}: avail idx {availIdx} is {(ushort)(availIdx - _lastAvailIdx)} ahead of {_lastAvailIdx}, more than the {Size} entries the ring holds");
            }
            _availSeen = availIdx;
        }
        var head = _mem.ReadU16(Avail + 4 + 2UL * (ulong)(_lastAvailIdx % Size));
        _lastAvailIdx++;
        // Stryker disable once all : equivalent in a device that drains each ring until it finds it empty, as the in-process one does: the store before it concludes "empty" writes the same value; this one lets a driver skip kicks sooner, and is the only one in a budgeted vhost-user turn
        if (_eventIdx) _mem.WriteU16Release(Used + (ulong)SplitRing.AvailEventOffset(Size), _lastAvailIdx);
        try
        {
            return Walk(head);
        }
        catch (Exception e) when (e is ChainError or GuestMemoryFault)
        {
            _rules.Refused(this, new ChainHandle(head, 1));
            throw new ChainError($"queue {Index}: chain at head {head} refused: {e.Message}");
        }
    }

    /// <summary>Returns one chain used; with IN_ORDER it is held, to go back in a batch when the ring publishes.</summary>
    public void AddUsed(ChainHandle chain, uint length)
    {
        if (_inOrder is null) AddUsed(chain.Id, length);
        else _inOrder.Hold(chain, length);
    }

    public void PushUsed(ChainHandle chain, uint length) => PushUsed(chain.Id, length);

    // A head outside the table names no buffer to return.
    public void ReturnRefused(ChainHandle chain)
    {
        if (chain.Id < Size) PushUsed(chain.Id, 0);
    }

    // One available ring entry per chain.
    public void Untake(ChainHandle chain) => LastAvailIdx -= (ushort)chain.Slots;

    /// <summary>Publishes one used element: the element first, then idx, so the driver never sees idx ahead of len (§2.7.8.2).</summary>
    public void PushUsed(ushort head, uint length)
    {
        AddUsed(head, length);
        PublishUsed();
    }

    /// <summary>
    /// Writes one used element without publishing it. A batch of them becomes visible with one <see cref="PublishUsed"/>,
    /// so the driver's used idx cache line moves once per batch, not once per buffer.
    /// </summary>
    public void AddUsed(ushort head, uint length)
    {
        // What an in-order ring holds was used before this one.
        WriteHeld();
        WriteUsed(head, length, 1);
    }

    /// <summary>
    /// One used element for <paramref name="buffers"/> buffers, the last of them <paramref name="head"/>: used idx moves by
    /// all of them, and the elements after this one are skipped (§2.7.9). Without IN_ORDER every element is one buffer.
    /// </summary>
    private void WriteUsed(ushort head, uint length, int buffers)
    {
        var slot = Used + 4 + (ulong)SplitRing.UsedElemSize * (ulong)(UsedIdx % Size);
        _mem.WriteU32(slot, head);
        _mem.WriteU32(slot + 4, length);
        UsedIdx += (ushort)(_inOrder?.Rules.Step(this, buffers) ?? buffers);
    }

    /// <summary>With IN_ORDER, writes the held buffers as batches, one used element each.</summary>
    private void WriteHeld()
    {
        while (_inOrder is not null && _inOrder.TryTake(out var b)) WriteUsed(b.Id, b.Length, b.Buffers);
    }

    /// <summary>Makes every used element added so far visible to the driver (a release store of used idx).</summary>
    public void PublishUsed()
    {
        WriteHeld();
        _mem.WriteU16Release(Used + 2, UsedIdx);
    }

    /// <summary>Whether the used entries published since the last call need a notification (§2.7.7.2).</summary>
    public bool TakeNotificationDue()
    {
        var old = _lastNotifiedUsed;
        var now = UsedIdx;
        if (old == now) return false;
        _lastNotifiedUsed = now;
        // Stryker disable once all : equivalent with one thread: the barrier orders the used idx store before the used_event load for a driver on another core
        Interlocked.MemoryBarrier();
        if (_eventIdx)
        {
            var usedEvent = _mem.ReadU16(Avail + (ulong)SplitRing.UsedEventOffset(Size));
            return (ushort)(now - usedEvent - 1) < (ushort)(now - old);
        }
        return (_mem.ReadU16(Avail) & SplitRing.AvailFNoInterrupt) == 0;
    }

    private DescriptorChain Walk(ushort head)
    {
        if (head >= Size) throw new ChainError($"head {head} is outside the {Size}-entry descriptor table");
        var segments = _walk;
        segments.Clear();
        var table = Desc;
        var tableSize = Size;
        var index = head;
        var inIndirect = false;
        var seenWritable = false;
        for (var steps = 0; ; steps++)
        {
            // next is 16 bits wide, so a chain that takes more steps than min(entries, 65536) has visited an entry
            // twice. Bounding by the entry count alone let a loop in a huge indirect table (its length is up to the
            // guest's size) cost millions of steps and a segment list of hundreds of MB for one chain.
            // Stryker disable once all : equivalent: a loop is refused one step or 65536 steps later either way; the bound only limits the work a hostile chain costs
            if (steps >= Math.Min(tableSize, MaxReachableEntries))
                throw new ChainError(tableSize <= MaxReachableEntries
                    ? $"chain is longer than its {tableSize}-entry table (a loop?)"
                    : $"chain is longer than the {MaxReachableEntries} entries a 16-bit next can reach in its {tableSize}-entry table (a loop?)");
            // The descriptor's 16 bytes looked up once, not once per field: this runs for every buffer.
            var d = _mem.Span(table + (ulong)SplitRing.DescriptorSize * index, SplitRing.DescriptorSize);
            var addr = BinaryPrimitives.ReadUInt64LittleEndian(d);
            var len = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
            var next = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);
            if ((flags & SplitRing.DescFIndirect) != 0)
            {
                if (!_indirect) throw new ChainError("INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC");
                if (inIndirect) throw new ChainError("INDIRECT descriptor inside an indirect table");
                if ((flags & SplitRing.DescFNext) != 0) throw new ChainError("descriptor has both INDIRECT and NEXT");
                if (len == 0 || len % SplitRing.DescriptorSize != 0)
                    throw new ChainError(len == 0 ? "indirect table is empty (length 0)" : $"indirect table length {len} is not a multiple of 16");
                if (!_mem.Contains(addr, (int)Math.Min(len, int.MaxValue))) throw new ChainError($"indirect table 0x{addr:x}+{len} is outside guest memory");
                // The write flag of the descriptor that points at a table carries no meaning (§2.7.5.3.2).
                inIndirect = true;
                table = addr;
                tableSize = (int)(len / SplitRing.DescriptorSize);
                index = 0;
                steps = -1;
                continue;
            }
            var writable = (flags & SplitRing.DescFWrite) != 0;
            if (!writable && seenWritable) throw new ChainError("device-readable descriptor after a device-writable one");
            seenWritable |= writable;
            if (len > 0 && !_mem.Contains(addr, (int)Math.Min(len, int.MaxValue)))
                throw new ChainError($"buffer 0x{addr:x}+{len} is outside guest memory");
            segments.Add(new Segment(addr, len, writable));
            if ((flags & SplitRing.DescFNext) == 0) return new DescriptorChain(head, segments.ToArray());
            if (next >= tableSize) throw new ChainError($"next {next} is outside the {tableSize}-entry table");
            index = next;
        }
    }
}
