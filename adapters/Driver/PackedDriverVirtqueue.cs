using VirtioMq.Adapters.Devices;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Adapters.Driver;

/// <summary>
/// The driver side of one packed virtqueue (§2.8): buffers are written as runs of descriptors into the one descriptor
/// ring, made available by their flags (AVAIL = the driver's wrap counter, USED = its inverse), and come back as one used
/// descriptor per buffer, written by the device over the ring in the order it finishes them. Written from the spec for
/// the suite alone; it shares only memory and spec/ constants with any device.
/// </summary>
public sealed class PackedDriverVirtqueue : DriverVirtqueue
{
    private readonly GuestMemory _mem;
    private readonly GuestAllocator _alloc;
    private readonly bool _eventIdx;
    private readonly Stack<ushort> _freeIds = new();
    private readonly Dictionary<ushort, Pending> _outstanding = [];
    // The flags of each buffer's first descriptor, held back until Publish: a device may read the ring at any time, and
    // the first descriptor must be the last one to become available (§2.8.21.1).
    private readonly List<(ulong At, ushort Flags)> _unpublished = [];
    private PackedPosition _next;
    private PackedPosition _lastUsed;
    private PackedPosition _kickedAt;
    private int _freeSlots;
    private readonly ushort? _idInLastOnly;
    private readonly bool _inOrder;
    // IN_ORDER only: the Buffer IDs in the order they were made available, and the buffers of a batch already taken from
    // the ring but not yet handed out.
    private readonly Queue<ushort> _inFlight = new();
    private readonly Queue<UsedBuffer> _batch = new();

    /// <summary>
    /// What the descriptors before a list's last carry in their ID field when <see cref="DriverOptions.PackedBufferIdInLastOnly"/> is
    /// set: above any Buffer ID (at most 32767), so it names no buffer.
    /// </summary>
    public const ushort NotABufferId = 0xFFFF;
    private ushort _published;
    private ushort _taken;
    private PackedPosition? _usedInsideList;

    // Buffer IDs and slots are kept here, not re-read from the ring: the device writes over it.
    private sealed record Pending(List<ulong> Slots, List<(ulong Addr, uint Len)> Writable, PackedPosition[] Places, object? Tag)
    {
        public int RingDescriptors => Places.Length;
    }

    /// <param name="startIndex">
    /// A resumed ring's start: as many descriptors (one per buffer) into the ring as a split ring's indices would say,
    /// wrap counters flipped once per lap. 0 is a ring after reset: offset 0, both wrap counters 1 (§2.8.1).
    /// </param>
    /// <param name="idInLastOnly">Write the Buffer ID only in each list's last descriptor, <see cref="NotABufferId"/> in the others.</param>
    /// <param name="inOrder">VIRTIO_F_IN_ORDER was negotiated: the device may return a batch with one used descriptor (§2.8.8).</param>
    public PackedDriverVirtqueue(GuestMemory memory, GuestAllocator allocator, int index, int size, bool eventIdx, ushort startIndex = 0,
        bool idInLastOnly = false, bool inOrder = false)
    {
        _inOrder = inOrder;
        _idInLastOnly = idInLastOnly ? NotABufferId : null;
        if (size is < 1 or > PackedRing.MaxQueueSize)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"a packed ring holds 1..{PackedRing.MaxQueueSize} descriptors");
        _mem = memory;
        _alloc = allocator;
        Index = index;
        Size = size;
        _eventIdx = eventIdx;
        Registers = new QueueRegisters(size,
            allocator.AllocateRing(PackedRing.DescriptorRingBytes(size), PackedRing.DescriptorAlign),
            allocator.AllocateRing(PackedRing.EventSuppressionSize, PackedRing.EventSuppressionAlign),
            allocator.AllocateRing(PackedRing.EventSuppressionSize, PackedRing.EventSuppressionAlign));
        // Zeroed flags are neither available nor used in the first lap, and event suppression reads ENABLE (§2.8.21.1.1).
        _mem.Span(Registers.Desc, PackedRing.DescriptorRingBytes(size)).Clear();
        _mem.Span(Registers.Avail, PackedRing.EventSuppressionSize).Clear();
        _mem.Span(Registers.Used, PackedRing.EventSuppressionSize).Clear();
        _next = _lastUsed = _kickedAt = PackedPosition.Start.Advance(startIndex % (2 * size), size);
        _published = _taken = startIndex;
        _freeSlots = size;
        if (eventIdx) AskForNextUsed();
        for (var i = size - 1; i >= 0; i--) _freeIds.Push((ushort)i);
    }

    public override RingFormat Format => RingFormat.Packed;
    public override int Index { get; }
    public override int Size { get; }
    public override QueueRegisters Registers { get; }
    public override int FreeDescriptors => _freeIds.Count == 0 ? 0 : _freeSlots;
    public override int Outstanding => _outstanding.Count + _batch.Count;

    /// <summary>Where the driver puts its next descriptor, with its avail wrap counter.</summary>
    public PackedPosition NextAvail => _next;

    /// <summary>Where the driver looks for the next used descriptor, with its used wrap counter.</summary>
    public PackedPosition NextUsed => _lastUsed;

    public override ushort? Add(IReadOnlyList<byte[]> readable, IReadOnlyList<int> writableLengths, object? tag = null, bool indirect = false)
    {
        BufferSlots.Validate(readable, writableLengths);
        var count = readable.Count + writableLengths.Count;
        if (indirect && count * PackedRing.DescriptorSize > GuestAllocator.SlotSize)
            throw new ArgumentException($"an indirect table of {count} descriptors does not fit a {GuestAllocator.SlotSize}-byte slot");
        var needed = indirect ? 1 : count;
        if (_freeSlots < needed || _freeIds.Count == 0) return null;

        var (slots, segs, writable) = BufferSlots.Stage(_mem, _alloc, readable, writableLengths, PackedRing.DescFWrite);

        var id = _freeIds.Pop();
        if (indirect)
        {
            // Inside the table only WRITE means anything; the descriptors follow each other without NEXT (§2.8.7).
            var table = _alloc.AllocateSlot();
            slots.Add(table);
            for (var i = 0; i < segs.Count; i++)
                WriteDescriptor(table + (ulong)(PackedRing.DescriptorSize * i), segs[i].Addr, segs[i].Len, 0, segs[i].Flags);
            segs = [new(table, (uint)(count * PackedRing.DescriptorSize), PackedRing.DescFIndirect)];
        }
        var at = _next;
        var places = new PackedPosition[segs.Count];
        for (var i = 0; i < segs.Count; i++)
        {
            places[i] = at;
            var flags = (ushort)(segs[i].Flags | (i + 1 < segs.Count ? PackedRing.DescFNext : 0) | PackedRing.AvailFlags(at.Wrap));
            var d = DescriptorAt(at.Offset);
            // The Buffer ID belongs in the last descriptor of the list (§2.8.6). Linux writes it in every one, and so does this
            // driver unless told otherwise: then the others carry an ID no buffer has, so a device reading the wrong one shows.
            var descriptorId = i + 1 == segs.Count || _idInLastOnly is null ? id : _idInLastOnly.Value;
            // Until Publish the first descriptor carries the other lap's AVAIL/USED bits, which read neither available nor
            // used in this lap: zero would read used in a lap whose wrap counter is 0.
            WriteDescriptor(d, segs[i].Addr, segs[i].Len, descriptorId, i == 0 ? PackedRing.AvailFlags(!at.Wrap) : flags);
            if (i == 0) _unpublished.Add((d + PackedRing.FlagsOffset, flags));
            at = at.Advance(1, Size);
        }
        _next = at;
        _freeSlots -= segs.Count;
        _outstanding[id] = new Pending(slots, writable, places, tag);
        if (_inOrder) _inFlight.Enqueue(id);
        return id;
    }

    public override ulong WritableAddressOf(ushort head, int n) =>
        _outstanding.TryGetValue(head, out var o) && n < o.Writable.Count ? o.Writable[n].Addr
            : throw new InvalidOperationException($"virtqueue {Index}: buffer {head} has no writable segment {n}");

    public override bool Publish()
    {
        if (_unpublished.Count > 0)
        {
            // Later buffers first and the batch's first buffer last, each with a release store: a device that reads the
            // ring meanwhile finds the first one unavailable until the whole batch is in place (§2.8.21.3).
            for (var i = _unpublished.Count - 1; i >= 0; i--) _mem.WriteU16Release(_unpublished[i].At, _unpublished[i].Flags);
            _published += (ushort)_unpublished.Count;
            _unpublished.Clear();
        }
        // The flags must be visible before the device's event suppression is read (§2.8.21.3.1).
        Interlocked.MemoryBarrier();
        var old = _kickedAt;
        if (old == _next) return false;
        _kickedAt = _next;
        var mode = (ushort)(_mem.ReadU16(Registers.Used + PackedRing.EventFlagsOffset) & PackedRing.EventFlagsMask);
        if (mode == PackedRing.EventFlagsDisable) return false;
        if (mode == PackedRing.EventFlagsDesc && _eventIdx)
        {
            var offWrap = _mem.ReadU16(Registers.Used + PackedRing.EventOffWrapOffset);
            return PackedRing.EventReached(offWrap, Size, (old.Offset, old.Wrap), (_next.Offset, _next.Wrap));
        }
        // ENABLE, and the modes a device may not use (DESC without EVENT_IDX, the reserved value): notify.
        return true;
    }

    public override ushort PublishedIdx => _published;

    public override ushort DeviceUsedIdx => UsedSoFar().Count;

    /// <summary>Where the device writes its next used descriptor, as far as the ring shows.</summary>
    public PackedPosition DeviceUsedPosition => UsedSoFar().Next;

    // The used descriptors the device wrote follow each other from where the driver last took one; each skips the ring
    // descriptors its buffer took. Read up to the first one not (yet) used.
    private (ushort Count, PackedPosition Next) UsedSoFar()
    {
        if (_inOrder) return UsedSoFarInOrder();
        var count = _taken;
        var at = _lastUsed;
        for (var i = 0; i < _outstanding.Count; i++)
        {
            var d = DescriptorAt(at.Offset);
            if (!PackedRing.IsUsed(_mem.ReadU16Acquire(d + PackedRing.FlagsOffset), at.Wrap)) break;
            if (!_outstanding.TryGetValue(_mem.ReadU16(d + PackedRing.IdOffset), out var o)) break;
            at = at.Advance(o.RingDescriptors, Size);
            count++;
        }
        return (count, at);
    }

    public override int DescriptorFlagsOffset => PackedRing.FlagsOffset;

    public override ulong DescriptorAddress(ushort head, int i) =>
        _outstanding.TryGetValue(head, out var o) && i < o.Places.Length
            ? DescriptorAt(o.Places[i].Offset)
            : throw new InvalidOperationException($"virtqueue {Index}: buffer {head} has no descriptor {i}");

    public override void RewriteFlags(ushort head, int i, ushort flags)
    {
        var at = DescriptorAddress(head, i) + PackedRing.FlagsOffset;
        var value = (ushort)(flags & ~(PackedRing.DescFAvail | PackedRing.DescFUsed) | PackedRing.AvailFlags(_outstanding[head].Places[i].Wrap));
        var held = _unpublished.FindIndex(u => u.At == at);
        if (held >= 0) _unpublished[held] = (at, value);
        else _mem.WriteU16(at, value);
    }

    public override PackedPosition FirstSlotOf(ushort head) =>
        _outstanding.TryGetValue(head, out var o) ? o.Places[0] : throw new InvalidOperationException($"{this}: buffer {head} is not outstanding");

    public override void ShowFlags(ushort head, int i, ushort flags) => _mem.WriteU16Release(DescriptorAddress(head, i) + PackedRing.FlagsOffset, flags);

    public override void PublishAhead(ushort head)
    {
        var at = DescriptorAddress(head, 0) + PackedRing.FlagsOffset;
        var held = _unpublished.FindIndex(u => u.At == at);
        if (held < 0) throw new InvalidOperationException($"{this}: buffer {head} is not waiting to be published");
        _mem.WriteU16Release(at, _unpublished[held].Flags);
    }

    /// <remarks>
    /// A used descriptor the device wrote where the driver never looks, if it saw one: a slot a used descriptor made the
    /// driver skip (one of its list's other slots), or a slot past the used descriptors the driver can reach from
    /// <see cref="NextUsed"/>, marked used for its lap. Such slots hold the driver's own available descriptors until the
    /// device writes them, so a used one there was written inside a list, or past one, instead of right after the lists
    /// before it (ring.packed.dev.chain-one-used).
    /// </remarks>
    public override string? UsedOutOfStep() => StrayUsed() is { } stray
        ? $"slot {stray} was marked used, inside a list or past the used descriptors, while the driver looks at {NextUsed} after skipping the slots of each list returned"
        : null;

    private PackedPosition? StrayUsed()
    {
        if (_usedInsideList is { } inside) return inside;
        // The slot the driver reads next is in step, whatever it holds; the ones after it up to NextAvail are not yet.
        var at = UsedSoFar().Next;
        for (var i = 0; i < Size && at != _next; i++)
        {
            at = at.Advance(1, Size);
            if (at == _next) break;
            if (PackedRing.IsUsed(_mem.ReadU16Acquire(DescriptorAt(at.Offset) + PackedRing.FlagsOffset), at.Wrap)) return at;
        }
        return null;
    }

    public override uint DrainedVringBase => new PackedVringBase(_next, _next).Encode();

    /// <remarks>Both halves at the driver's used cursor: the device takes and marks used from the first slot not yet used.</remarks>
    public override uint RestartVringBase => new PackedVringBase(_lastUsed, _lastUsed).Encode();

    public override string DescribeVringBase(uint vringBase) => $"0x{vringBase:x8} ({PackedVringBase.Decode(vringBase)})";

    public override void AskForEveryNotification() => _mem.WriteU16Release(Registers.Avail + PackedRing.EventFlagsOffset, PackedRing.EventFlagsEnable);

    public override void AskForNoNotification(bool eventIdx) => _mem.WriteU16Release(Registers.Avail + PackedRing.EventFlagsOffset, PackedRing.EventFlagsDisable);

    public override void AskForNotificationAt(int entry, int descriptorsPerBuffer, bool noInterrupt)
    {
        // Positions run on a circle of two laps: the wrap bit tells the lap.
        var lap = 2 * Size;
        var at = DeviceUsedPosition.Advance(((entry * descriptorsPerBuffer) % lap + lap) % lap, Size);
        _mem.WriteU16(Registers.Avail + PackedRing.EventOffWrapOffset, at.Encode());
        _mem.WriteU16Release(Registers.Avail + PackedRing.EventFlagsOffset, PackedRing.EventFlagsDesc);
    }

    // With IN_ORDER a used descriptor returns every buffer up to the one it names, and the next follows all their slots.
    private (ushort Count, PackedPosition Next) UsedSoFarInOrder()
    {
        var count = _taken;
        var at = _lastUsed;
        var ids = _inFlight.ToArray();
        for (var i = 0; i < ids.Length;)
        {
            var d = DescriptorAt(at.Offset);
            if (!PackedRing.IsUsed(_mem.ReadU16Acquire(d + PackedRing.FlagsOffset), at.Wrap)) break;
            var k = Array.IndexOf(ids, _mem.ReadU16(d + PackedRing.IdOffset), i);
            if (k < 0) break;
            for (; i <= k; i++, count++) at = at.Advance(_outstanding[ids[i]].RingDescriptors, Size);
        }
        return (count, at);
    }

    public override UsedBuffer? TakeUsed()
    {
        if (_inOrder) return TakeUsedInOrder();
        if (_outstanding.Count == 0) return null;
        var d = DescriptorAt(_lastUsed.Offset);
        var flags = _mem.ReadU16Acquire(d + PackedRing.FlagsOffset);
        if (!PackedRing.IsUsed(flags, _lastUsed.Wrap)) return null;
        var id = _mem.ReadU16(d + PackedRing.IdOffset);
        var len = _mem.ReadU32(d + PackedRing.LenOffset);
        if (!_outstanding.Remove(id, out var o))
            throw new DeviceProtocolException($"virtqueue {Index}: the device marked the descriptor at {_lastUsed} used with Buffer ID {id}, which is not " +
                "the ID of a buffer it holds (returned twice, never made available, or read from the wrong descriptor of the list)")
            { Breach = Breach.UsedIdNotHeld };
        // The list's other slots are skipped: the device never writes them in this lap, so a used one there is a stray.
        for (var k = 1; k < o.RingDescriptors && _usedInsideList is null; k++)
        {
            var skipped = _lastUsed.Advance(k, Size);
            if (PackedRing.IsUsed(_mem.ReadU16Acquire(DescriptorAt(skipped.Offset) + PackedRing.FlagsOffset), skipped.Wrap)) _usedInsideList = skipped;
        }
        _lastUsed = _lastUsed.Advance(o.RingDescriptors, Size);
        _freeSlots += o.RingDescriptors;
        _freeIds.Push(id);
        _taken++;
        if (_eventIdx) AskForNextUsed();
        return Release(id, o, len, flags, skipped: false);
    }

    /// <summary>The buffer among <paramref name="ids"/> whose list takes slot <paramref name="at"/>, if any.</summary>
    private ushort? OwnerOf(ushort[] ids, PackedPosition at) => ids.Where(i => _outstanding[i].Places.Contains(at)).Select(i => (ushort?)i).FirstOrDefault();

    /// <summary>Frees a returned buffer's slots and hands out what the device wrote in it.</summary>
    private UsedBuffer Release(ushort id, Pending o, uint len, ushort? flags, bool skipped)
    {
        var (contents, written) = BufferSlots.Gather(_mem, o.Writable, len);
        foreach (var s in o.Slots) _alloc.FreeSlot(s);
        return new UsedBuffer(Index, id, len, written, o.Tag) { Contents = contents, UsedFlags = flags, InOrderSkipped = skipped };
    }

    /// <summary>
    /// With IN_ORDER (§2.8.8): the used descriptor at the driver's place returns every buffer up to the one whose ID it
    /// carries, in the order they were made available, and the device's next one follows all their slots. The last gets
    /// the descriptor's length and flags; the others count as wholly used. A device that returns a buffer before an
    /// earlier one, or writes a used descriptor in the slots a batch skips, is caught here.
    /// </summary>
    private UsedBuffer? TakeUsedInOrder()
    {
        if (_batch.Count > 0) return _batch.Dequeue();
        if (_inFlight.Count == 0) return null;
        var d = DescriptorAt(_lastUsed.Offset);
        var flags = _mem.ReadU16Acquire(d + PackedRing.FlagsOffset);
        if (!PackedRing.IsUsed(flags, _lastUsed.Wrap)) return null;
        var id = _mem.ReadU16(d + PackedRing.IdOffset);
        var len = _mem.ReadU32(d + PackedRing.LenOffset);
        var ids = _inFlight.ToArray();
        var k = Array.IndexOf(ids, id);
        if (k < 0)
            throw new DeviceProtocolException($"virtqueue {Index}: the device marked the descriptor at {_lastUsed} used with Buffer ID {id}, which is not " +
                "the ID of a buffer it holds (returned twice, never made available, or read from the wrong descriptor of the list)")
            { Breach = Breach.UsedIdNotHeld };
        var slots = 0;
        for (var j = 0; j <= k; j++) slots += _outstanding[ids[j]].RingDescriptors;
        // The batch's other slots are skipped: the device writes no used descriptor there in this lap (§2.8.8).
        var listStarts = Enumerable.Range(0, k + 1).Select(j => _outstanding[ids[j]].Places[0]).ToHashSet();
        for (var j = 1; j < slots; j++)
        {
            var skipped = _lastUsed.Advance(j, Size);
            var sd = DescriptorAt(skipped.Offset);
            if (!PackedRing.IsUsed(_mem.ReadU16Acquire(sd + PackedRing.FlagsOffset), skipped.Wrap)) continue;
            var stray = _mem.ReadU16(sd + PackedRing.IdOffset);
            // Returning an earlier buffer of the batch is using them out of order; a used descriptor in a list's later slot is
            // one written inside a list, whatever the ordering; over the start of a later list, the batch was not skipped whole.
            var (breach, what) = Array.IndexOf(ids, stray, 0, k) >= 0
                ? (Breach.InOrderUsedOutOfOrder, $"returns Buffer ID {stray}, one of the {k} buffer(s) made available before it: the device used them in another order than the driver made them available")
                : !listStarts.Contains(skipped) && OwnerOf(ids[..(k + 1)], skipped) == stray
                    ? (Breach.PackedNextIgnored, $"was marked used with Buffer ID {stray}, its own list's, as if that slot were a buffer of its own: the device " +
                        "took the descriptors of a NEXT-linked list as separate buffers")
                    : !listStarts.Contains(skipped)
                        ? (Breach.PackedUsedInsideList, $"was marked used (Buffer ID {stray}), inside a list: a list gets one used descriptor, and the device skips its other slots")
                        : (Breach.InOrderBatchMisplaced, $"was marked used (Buffer ID {stray}), but the batch's one used descriptor stands for every list in it");
            throw new DeviceProtocolException($"virtqueue {Index}: the used descriptor at {_lastUsed} returns Buffer ID {id} as a batch of {k + 1} buffer(s) over " +
                $"{slots} slots, and the slot at {skipped} {what}")
            { Breach = breach };
        }
        for (var j = 0; j <= k; j++)
        {
            var bufferId = _inFlight.Dequeue();
            _outstanding.Remove(bufferId, out var o);
            _freeIds.Push(bufferId);
            // A skipped buffer counts as wholly used: all its writable bytes written (§2.8.8).
            _batch.Enqueue(j == k
                ? Release(bufferId, o!, len, flags, skipped: false)
                : Release(bufferId, o!, (uint)BufferSlots.Capacity(o!.Writable), null, skipped: true));
        }
        _lastUsed = _lastUsed.Advance(slots, Size);
        _freeSlots += slots;
        _taken += (ushort)(k + 1);
        if (_eventIdx) AskForNextUsed();
        return _batch.Dequeue();
    }

    /// <summary>With EVENT_IDX, asks for a notification when the next used descriptor is written, as the split ring's used_event does.</summary>
    private void AskForNextUsed()
    {
        _mem.WriteU16(Registers.Avail + PackedRing.EventOffWrapOffset, _lastUsed.Encode());
        _mem.WriteU16Release(Registers.Avail + PackedRing.EventFlagsOffset, PackedRing.EventFlagsDesc);
    }

    private ulong DescriptorAt(int offset) => Registers.Desc + (ulong)(PackedRing.DescriptorSize * offset);

    private void WriteDescriptor(ulong d, ulong addr, uint len, ushort id, ushort flags)
    {
        _mem.WriteU64(d + PackedRing.AddrOffset, addr);
        _mem.WriteU32(d + PackedRing.LenOffset, len);
        _mem.WriteU16(d + PackedRing.IdOffset, id);
        _mem.WriteU16(d + PackedRing.FlagsOffset, flags);
    }
}
