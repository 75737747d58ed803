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
    private readonly Stack<ushort> _freeDescriptors = new();
    private readonly Dictionary<ushort, Pending> _outstanding = [];
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
    public SplitDriverVirtqueue(GuestMemory memory, GuestAllocator allocator, int index, int size, bool eventIdx, ushort startIndex = 0)
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
        for (var i = size - 1; i >= 0; i--) _freeDescriptors.Push((ushort)i);
    }

    public override RingFormat Format => RingFormat.Split;
    public override int Index { get; }
    public override int Size { get; }
    public override QueueRegisters Registers { get; }
    public override int FreeDescriptors => _freeDescriptors.Count;
    public override int Outstanding => _outstanding.Count;

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
            head = _freeDescriptors.Pop();
            ids = [head];
            WriteDescriptor(Registers.Desc, head, table, (uint)(segs.Count * SplitRing.DescriptorSize), SplitRing.DescFIndirect, 0);
        }
        else
        {
            ids = Enumerable.Range(0, count).Select(_ => _freeDescriptors.Pop()).ToArray();
            for (var i = 0; i < count; i++)
                WriteDescriptor(Registers.Desc, ids[i], segs[i].Addr, segs[i].Len,
                    (ushort)(segs[i].Flags | (i + 1 < count ? SplitRing.DescFNext : 0)), i + 1 < count ? ids[i + 1] : (ushort)0);
            head = ids[0];
        }
        _outstanding[head] = new Pending(slots, writable, ids, tag);
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
        var usedIdx = DeviceUsedIdx;
        if (usedIdx == _lastUsedIdx) return null;
        var elem = Registers.Used + 4 + (ulong)SplitRing.UsedElemSize * (ulong)(_lastUsedIdx % Size);
        var id = _mem.ReadU32(elem);
        var len = _mem.ReadU32(elem + 4);
        _lastUsedIdx++;
        if (id >= Size || !_outstanding.Remove((ushort)id, out var o))
            throw new DeviceProtocolException($"virtqueue {Index}: the device put id {id} in the used ring, which is not the head of a buffer it holds " +
                "(returned twice, or never made available)")
            { Breach = Breach.UsedIdNotHeld };
        var (contents, written) = BufferSlots.Gather(_mem, o.Writable, len);
        foreach (var d in o.Descriptors) _freeDescriptors.Push(d);
        foreach (var s in o.Slots) _alloc.FreeSlot(s);
        if (_eventIdx) _mem.WriteU16Release(Registers.Avail + (ulong)SplitRing.UsedEventOffset(Size), _lastUsedIdx);
        return new UsedBuffer(Index, (ushort)id, len, written, o.Tag) { Contents = contents };
    }

    public override uint DrainedVringBase => PublishedIdx;

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
