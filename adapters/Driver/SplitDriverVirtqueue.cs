using VirtioMq.Adapters.Devices;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.Driver;

/// <summary>
/// The driver side of one split virtqueue (§2.7): it builds descriptor chains in guest memory, exposes them
/// through the available ring and takes them back from the used ring. It shares only memory with the device.
/// </summary>
public sealed class SplitDriverVirtqueue : DriverVirtqueue
{
    private readonly GuestMemory _mem;
    private readonly GuestAllocator _alloc;
    private readonly bool _eventIdx;
    private readonly bool _inOrder;
    // Taken from the front; given back to the front (most recently freed first), or with IN_ORDER to the back, so that
    // descriptors are used in ring order (§2.7.5.2): an in-order device frees them in the order they were taken.
    private readonly LinkedList<ushort> _freeDescriptors = new();
    private readonly Dictionary<ushort, Pending> _outstanding = [];
    // IN_ORDER only: the heads in the order they were made available, each used entry as the driver last passed it, and
    // the buffers of a batch already taken from the used ring but not yet handed out.
    private readonly Queue<ushort> _inFlight = new();
    private readonly ulong[] _usedSeen = [];
    private readonly Queue<UsedBuffer> _batch = new();

    /// <summary>What the driver writes in every used element of an IN_ORDER ring before the device gets it: a head no table has.</summary>
    public const uint NotAHead = 0xFFFF_FFFF;
    private ushort _availIdx;
    private ushort _lastUsedIdx;
    private ushort _kickedAt;

    // Descriptor ids are kept here, not re-read from the table: a faulty device might have scribbled on it.
    private sealed record Pending(List<ulong> Slots, List<(ulong Addr, uint Len)> Writable, ushort[] Descriptors, object? Tag);

    /// <param name="startIndex">
    /// Where the free-running avail and used indices start. 0 for a ring the device sets up after a reset; any other
    /// value lays the ring out as one resumed mid-life (a vhost-user front-end sends it as SET_VRING_BASE), so a check
    /// can reach the 65535 → 0 wrap without pushing 65,536 buffers first.
    /// </param>
    /// <param name="inOrder">
    /// VIRTIO_F_IN_ORDER was negotiated: descriptors are used in ring order with next = x + 1 (§2.7.5.2), and the device may
    /// return a batch with one used element (§2.7.9), which the driver unpacks.
    /// </param>
    public SplitDriverVirtqueue(GuestMemory memory, GuestAllocator allocator, int index, int size, bool eventIdx, ushort startIndex = 0,
        bool inOrder = false)
    {
        _mem = memory;
        _alloc = allocator;
        Index = index;
        Size = size;
        _eventIdx = eventIdx;
        Registers = new QueueRegisters(size,
            allocator.AllocateRing(SplitRing.DescriptorTableBytes(size), SplitRing.DescriptorAlign),
            allocator.AllocateRing(SplitRing.AvailRingBytes(size), SplitRing.AvailAlign),
            allocator.AllocateRing(SplitRing.UsedRingBytes(size), SplitRing.UsedAlign));
        // Ring memory may hold a previous driver's bytes; the device expects zeroed indices and flags.
        _mem.Span(Registers.Desc, SplitRing.DescriptorTableBytes(size)).Clear();
        _mem.Span(Registers.Avail, SplitRing.AvailRingBytes(size)).Clear();
        _mem.Span(Registers.Used, SplitRing.UsedRingBytes(size)).Clear();
        if (startIndex != 0)
        {
            // Every index of a resumed ring agrees: nothing outstanding, and both event indices where the device would
            // have left them, so neither side's notification test reads a stale 0 as 65,000 entries behind.
            _availIdx = _lastUsedIdx = _kickedAt = startIndex;
            _mem.WriteU16(Registers.Avail + 2, startIndex);
            _mem.WriteU16(Registers.Used + 2, startIndex);
            if (eventIdx)
            {
                _mem.WriteU16(Registers.Avail + (ulong)SplitRing.UsedEventOffset(size), startIndex);
                _mem.WriteU16(Registers.Used + (ulong)SplitRing.AvailEventOffset(size), startIndex);
            }
        }
        for (var i = 0; i < size; i++) _freeDescriptors.AddLast((ushort)i);
        _inOrder = inOrder;
        if (inOrder)
        {
            // Every used element starts as a head no buffer has: an element the device writes in the entries a batch
            // skips then shows, even one that returns head 0 with length 0.
            _usedSeen = new ulong[size];
            for (var i = 0; i < size; i++)
            {
                var elem = UsedElement(i);
                _mem.WriteU32(elem, NotAHead);
                _mem.WriteU32(elem + 4, NotAHead);
                _usedSeen[i] = ReadElement(i);
            }
        }
    }

    public override RingFormat Format => RingFormat.Split;
    public override int Index { get; }
    public override int Size { get; }
    public override QueueRegisters Registers { get; }
    public override int FreeDescriptors => _freeDescriptors.Count;
    public override int Outstanding => _outstanding.Count + _batch.Count;

    /// <summary>
    /// Adds one buffer: device-readable segments first, then device-writable ones of the given lengths
    /// (each at most a slot). With <paramref name="indirect"/> the chain is put in an indirect table (§2.7.5.3).
    /// Returns the head, or null when the ring has no room.
    /// </summary>
    public override ushort? Add(IReadOnlyList<byte[]> readable, IReadOnlyList<int> writableLengths, object? tag = null, bool indirect = false)
    {
        BufferSlots.Validate(readable, writableLengths);
        var count = readable.Count + writableLengths.Count;
        var needed = indirect ? 1 : count;
        if (_freeDescriptors.Count < needed) return null;

        var (slots, segs, writable) = BufferSlots.Stage(_mem, _alloc, readable, writableLengths, SplitRing.DescFWrite);

        ushort head;
        ushort[] ids;
        if (indirect)
        {
            var table = _alloc.AllocateSlot();
            slots.Add(table);
            for (var i = 0; i < segs.Count; i++)
                WriteDescriptor(table, (ushort)i, segs[i].Addr, segs[i].Len,
                    (ushort)(segs[i].Flags | (i + 1 < segs.Count ? SplitRing.DescFNext : 0)), (ushort)(i + 1 < segs.Count ? i + 1 : 0));
            head = TakeDescriptor();
            ids = [head];
            WriteDescriptor(Registers.Desc, head, table, (uint)(segs.Count * SplitRing.DescriptorSize), SplitRing.DescFIndirect, 0);
        }
        else
        {
            ids = Enumerable.Range(0, count).Select(_ => TakeDescriptor()).ToArray();
            for (var i = 0; i < count; i++)
                WriteDescriptor(Registers.Desc, ids[i], segs[i].Addr, segs[i].Len,
                    (ushort)(segs[i].Flags | (i + 1 < count ? SplitRing.DescFNext : 0)), i + 1 < count ? ids[i + 1] : (ushort)0);
            head = ids[0];
        }
        _outstanding[head] = new Pending(slots, writable, ids, tag);
        if (_inOrder) _inFlight.Enqueue(head);
        _mem.WriteU16(Registers.Avail + 4 + 2UL * (ulong)(_availIdx % Size), head);
        _availIdx++;
        return head;
    }

    /// <summary>The guest address of writable segment <paramref name="n"/> of an outstanding buffer.</summary>
    public override ulong WritableAddressOf(ushort head, int n) =>
        _outstanding.TryGetValue(head, out var o) && n < o.Writable.Count ? o.Writable[n].Addr
            : throw new InvalidOperationException($"virtqueue {Index}: head {head} has no writable segment {n}");

    /// <summary>Publishes everything added so far (§2.7.13.3) and says whether the device wants a notification (§2.7.10).</summary>
    public override bool Publish()
    {
        _mem.WriteU16Release(Registers.Avail + 2, _availIdx);
        Interlocked.MemoryBarrier();
        var old = _kickedAt;
        if (old == _availIdx) return false;
        _kickedAt = _availIdx;
        if (_eventIdx)
        {
            var availEvent = _mem.ReadU16(Registers.Used + (ulong)SplitRing.AvailEventOffset(Size));
            return (ushort)(_availIdx - availEvent - 1) < (ushort)(_availIdx - old);
        }
        return (_mem.ReadU16(Registers.Used) & SplitRing.UsedFNoNotify) == 0;
    }

    /// <summary>The avail idx this driver last exposed to the device.</summary>
    public override ushort PublishedIdx => _mem.ReadU16(Registers.Avail + 2);

    /// <summary>The used idx the device has published.</summary>
    public override ushort DeviceUsedIdx => _mem.ReadU16Acquire(Registers.Used + 2);

    /// <summary>
    /// The avail_event the device last wrote (§2.7.10), or null without EVENT_IDX. A device that writes it says how far
    /// it has taken buffers, which tells "never took them" from "took them and never published them used".
    /// </summary>
    public override ushort? DeviceAvailEvent => _eventIdx ? _mem.ReadU16Acquire(Registers.Used + (ulong)SplitRing.AvailEventOffset(Size)) : null;

    /// <summary>Takes the next used buffer, if any, and frees its descriptors and slots.</summary>
    public override UsedBuffer? TakeUsed()
    {
        if (_inOrder) return TakeUsedInOrder();
        var usedIdx = DeviceUsedIdx;
        if (usedIdx == _lastUsedIdx) return null;
        var elem = UsedElement(_lastUsedIdx);
        var id = _mem.ReadU32(elem);
        var len = _mem.ReadU32(elem + 4);
        _lastUsedIdx++;
        if (id >= Size || !_outstanding.Remove((ushort)id, out var o))
            throw new DeviceProtocolException($"virtqueue {Index}: the device put id {id} in the used ring, which is not the head of a buffer it holds " +
                "(returned twice, or never made available)")
            { Breach = Breach.UsedIdNotHeld };
        if (_eventIdx) _mem.WriteU16Release(Registers.Avail + (ulong)SplitRing.UsedEventOffset(Size), _lastUsedIdx);
        return Release((ushort)id, o, len, skipped: false);
    }

    /// <summary>Frees a returned buffer's descriptors and slots and hands out what the device wrote in it.</summary>
    private UsedBuffer Release(ushort head, Pending o, uint len, bool skipped)
    {
        var (contents, written) = BufferSlots.Gather(_mem, o.Writable, len);
        foreach (var d in o.Descriptors)
            if (_inOrder) _freeDescriptors.AddLast(d);
            else _freeDescriptors.AddFirst(d);
        foreach (var s in o.Slots) _alloc.FreeSlot(s);
        return new UsedBuffer(Index, head, len, written, o.Tag) { Contents = contents, InOrderSkipped = skipped };
    }

    /// <summary>
    /// With IN_ORDER (§2.7.9): the used element at the driver's place returns every buffer up to the one it names, in the
    /// order they were made available; the last gets the element's length, the others count as wholly used. A device that
    /// returns a buffer before an earlier one, or writes in the elements a batch skips, is caught here.
    /// </summary>
    private UsedBuffer? TakeUsedInOrder()
    {
        if (_batch.Count > 0) return _batch.Dequeue();
        var usedIdx = DeviceUsedIdx;
        var ready = (ushort)(usedIdx - _lastUsedIdx);
        if (ready == 0) return null;
        var at = _lastUsedIdx;
        var elem = UsedElement(at);
        var id = _mem.ReadU32(elem);
        var len = _mem.ReadU32(elem + 4);
        var heads = _inFlight.ToArray();
        if (ready > heads.Length)
            throw new DeviceProtocolException($"virtqueue {Index}: used idx {usedIdx} is {ready} past the driver's {at}, but the device holds only " +
                $"{heads.Length} buffer(s): it moved used idx past buffers it never had (a batch of in-order buffers moves it by its size, §2.7.9)")
            { Breach = Breach.InOrderBatchMisplaced };
        var k = id < Size ? Array.IndexOf(heads, (ushort)id) : -1;
        if (k < 0 && ReadElement(at) == _usedSeen[at % Size])
            throw new DeviceProtocolException($"virtqueue {Index}: used idx {usedIdx} covers used element {at}, but the device never wrote it (it holds what " +
                "the driver saw there before): a batch's used element goes where the batch's first buffer was made available, and the ones after it are skipped (§2.7.9)")
            { Breach = Breach.InOrderBatchMisplaced };
        if (k < 0)
            throw new DeviceProtocolException($"virtqueue {Index}: the device put id {id} in used element {at}, which is not the head of a buffer it holds " +
                "(returned twice, or never made available)")
            { Breach = Breach.UsedIdNotHeld };
        if (ready < k + 1)
            throw new DeviceProtocolException($"virtqueue {Index}: used element {at} returns head {id}, the buffer made available {Ordinal(k + 1)} of the " +
                $"{heads.Length} the device holds, but used idx {usedIdx} is only {ready} past it: the device returned it before the {k} made available " +
                "earlier (a batch of in-order buffers moves used idx by its size, §2.7.9)")
            { Breach = Breach.InOrderUsedOutOfOrder };
        // The elements after the batch's first are skipped: the device writes nothing there (§2.7.9).
        for (var j = 1; j <= k; j++)
        {
            var e = (ushort)(at + j);
            var written = ReadElement(e);
            if (written == _usedSeen[e % Size]) continue;
            // An element is le32 id then le32 len: the id is the low half.
            var stray = (uint)written;
            var earlier = stray < Size && Array.IndexOf(heads, (ushort)stray, 0, k) >= 0;
            throw new DeviceProtocolException(earlier
                ? $"virtqueue {Index}: used element {at} returns head {id} and with it the {k} buffer(s) made available before it, and used element {e} " +
                  $"returns head {stray}, one of those: the device used them in another order than the driver made them available"
                : $"virtqueue {Index}: used element {at} returns head {id} as a batch of {k + 1} buffers, so elements {(ushort)(at + 1)}..{(ushort)(at + k)} " +
                  $"are skipped, but the device wrote head {stray} in element {e}")
            { Breach = earlier ? Breach.InOrderUsedOutOfOrder : Breach.InOrderBatchMisplaced };
        }
        for (var j = 0; j <= k; j++)
        {
            var e = (ushort)(at + j) % Size;
            _usedSeen[e] = ReadElement(e);
            var head = _inFlight.Dequeue();
            _outstanding.Remove(head, out var o);
            // A skipped buffer counts as wholly used: all its writable bytes written (§2.7.9).
            _batch.Enqueue(Release(head, o!, j == k ? len : (uint)BufferSlots.Capacity(o!.Writable), skipped: j < k));
        }
        _lastUsedIdx += (ushort)(k + 1);
        if (_eventIdx) _mem.WriteU16Release(Registers.Avail + (ulong)SplitRing.UsedEventOffset(Size), _lastUsedIdx);
        return _batch.Dequeue();
    }

    private static string Ordinal(int n) => n switch { 1 => "1st", 2 => "2nd", 3 => "3rd", _ => $"{n}th" };

    /// <summary>Where used element <paramref name="index"/> (free-running, or a ring position) lies.</summary>
    private ulong UsedElement(int index) => Registers.Used + 4 + (ulong)(SplitRing.UsedElemSize * (index % Size));

    /// <summary>Used element <paramref name="index"/>, id and len together, as one value to compare.</summary>
    private ulong ReadElement(int index) => _mem.ReadU64(UsedElement(index));

    private ushort TakeDescriptor()
    {
        var d = _freeDescriptors.First!.Value;
        _freeDescriptors.RemoveFirst();
        return d;
    }

    public override uint DrainedVringBase => PublishedIdx;

    /// <remarks>A split ring says it itself: the used idx in its memory.</remarks>
    public override uint RestartVringBase => DeviceUsedIdx;

    public override int DescriptorFlagsOffset => 12;

    public override ulong DescriptorAddress(ushort head, int i) =>
        _outstanding.TryGetValue(head, out var o) && i < o.Descriptors.Length
            ? Registers.Desc + (ulong)SplitRing.DescriptorSize * o.Descriptors[i]
            : throw new InvalidOperationException($"virtqueue {Index}: buffer {head} has no descriptor {i}");

    public override void RewriteFlags(ushort head, int i, ushort flags) => _mem.WriteU16(DescriptorAddress(head, i) + 12, flags);

    public override void AskForEveryNotification() => _mem.WriteU16(Registers.Avail, 0);

    public override void AskForNoNotification(bool eventIdx)
    {
        if (eventIdx)
            // used_event one behind the used idx: it is passed again only after 65536 more entries.
            _mem.WriteU16(Registers.Avail + (ulong)SplitRing.UsedEventOffset(Size), (ushort)(DeviceUsedIdx - 1));
        else
            _mem.WriteU16(Registers.Avail, SplitRing.AvailFNoInterrupt);
    }

    public override void AskForNotificationAt(int entry, int descriptorsPerBuffer, bool noInterrupt)
    {
        _mem.WriteU16(Registers.Avail + (ulong)SplitRing.UsedEventOffset(Size), (ushort)(DeviceUsedIdx + entry));
        _mem.WriteU16(Registers.Avail, noInterrupt ? SplitRing.AvailFNoInterrupt : (ushort)0);
    }

    private void WriteDescriptor(ulong table, ushort i, ulong addr, uint len, ushort flags, ushort next)
    {
        var d = table + (ulong)SplitRing.DescriptorSize * i;
        _mem.WriteU64(d, addr);
        _mem.WriteU32(d + 8, len);
        _mem.WriteU16(d + 12, flags);
        _mem.WriteU16(d + 14, next);
    }
}
