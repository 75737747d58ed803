using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.VhostUser.FrontEnd;

/// <summary>
/// The device side of the controlq as a split ring, which over vhost-user the front-end serves itself, as QEMU's virtio-net
/// does: it takes the driver's available chains, gives them back used and says when the driver is owed a used
/// buffer notification. Written from §2.7 for the suite alone; the reference device keeps its own ring code, so
/// a misreading of the split ring cannot hide in code both sides share.
/// </summary>
internal sealed class SplitControlqRing : IControlqRing
{
    private readonly GuestMemory _memory;
    private readonly QueueRegisters _ring;
    private readonly bool _eventIdx;
    private readonly bool _indirect;
    private ushort _nextAvail;
    private ushort _usedIdx;
    private ushort _usedIdxAtLastNotification;

    /// <exception cref="ArgumentException">The ring is not a valid split ring inside guest memory.</exception>
    public SplitControlqRing(GuestMemory memory, QueueRegisters ring, bool eventIdx, bool indirect)
    {
        if (ring.Size is < 1 or > SplitRing.MaxQueueSize || (ring.Size & (ring.Size - 1)) != 0)
            throw new ArgumentException($"controlq size {ring.Size} is not a power of two up to {SplitRing.MaxQueueSize}");
        if (!memory.Contains(ring.Desc, SplitRing.DescriptorTableBytes(ring.Size)) || !memory.Contains(ring.Avail, SplitRing.AvailRingBytes(ring.Size))
            || !memory.Contains(ring.Used, SplitRing.UsedRingBytes(ring.Size)))
            throw new ArgumentException($"controlq ring desc=0x{ring.Desc:x} avail=0x{ring.Avail:x} used=0x{ring.Used:x} is not inside guest memory");
        _memory = memory;
        _ring = ring;
        _eventIdx = eventIdx;
        _indirect = indirect;
        // The driver may start its ring at any index (it wrote the same one to avail idx and used idx).
        _usedIdx = _nextAvail = _usedIdxAtLastNotification = memory.ReadU16(ring.Used + 2);
    }

    /// <summary>Set once the driver made more buffers available than the ring holds: nothing is taken until a reset.</summary>
    public bool Broken { get; private set; }

    /// <inheritdoc/>
    public ControlRequest? Take(Action<string> refused)
    {
        while (!Broken && NextHead() is { } head)
        {
            try
            {
                return Read(head);
            }
            catch (Refusal r)
            {
                refused($"controlq: chain at head {head} refused: {r.Message}");
                if (head < _ring.Size) GiveBack(head, 0);
            }
        }
        return null;
    }

    public void GiveBack(ControlRequest request, uint written) => GiveBack(request.Head, written);

    /// <summary>Puts one chain on the used ring: the element first, then idx, so the driver never sees idx ahead of len.</summary>
    private void GiveBack(ushort head, uint written)
    {
        var element = _ring.Used + 4 + (ulong)SplitRing.UsedElemSize * (ulong)(_usedIdx % _ring.Size);
        _memory.WriteU32(element, head);
        _memory.WriteU32(element + 4, written);
        _usedIdx++;
        _memory.WriteU16Release(_ring.Used + 2, _usedIdx);
    }

    /// <summary>Whether the chains given back since the last call owe the driver a notification (§2.7.7.2, §2.7.10).</summary>
    public bool TakeNotificationOwed()
    {
        var since = _usedIdxAtLastNotification;
        if (since == _usedIdx) return false;
        _usedIdxAtLastNotification = _usedIdx;
        Interlocked.MemoryBarrier();
        if (!_eventIdx) return (_memory.ReadU16(_ring.Avail) & SplitRing.AvailFNoInterrupt) == 0;
        // The driver asked to hear when used idx moves past used_event: owed when used_event is one of the
        // indices this batch stepped over, i.e. it lies in [since, now) counting modulo 2^16.
        var usedEvent = _memory.ReadU16(_ring.Avail + (ulong)SplitRing.UsedEventOffset(_ring.Size));
        return (ushort)(usedEvent - since) < (ushort)(_usedIdx - since);
    }

    private ushort? NextHead()
    {
        var availIdx = _memory.ReadU16Acquire(_ring.Avail + 2);
        if (availIdx == _nextAvail && _eventIdx)
        {
            // Say where we stopped, then look once more: a driver that added a buffer meanwhile may have read the
            // old avail_event and not kicked.
            _memory.WriteU16(_ring.Used + (ulong)SplitRing.AvailEventOffset(_ring.Size), _nextAvail);
            Interlocked.MemoryBarrier();
            availIdx = _memory.ReadU16Acquire(_ring.Avail + 2);
        }
        if (availIdx == _nextAvail) return null;
        if ((ushort)(availIdx - _nextAvail) > _ring.Size)
        {
            Broken = true;
            return null;
        }
        var head = _memory.ReadU16(_ring.Avail + 4 + 2UL * (ulong)(_nextAvail % _ring.Size));
        _nextAvail++;
        if (_eventIdx) _memory.WriteU16Release(_ring.Used + (ulong)SplitRing.AvailEventOffset(_ring.Size), _nextAvail);
        return head;
    }

    /// <summary>Follows one chain (through an indirect table where there is one), checking every step against §2.7.5.</summary>
    private ControlRequest Read(ushort head)
    {
        if (head >= _ring.Size) throw new Refusal($"head {head} is outside the {_ring.Size}-entry descriptor table");
        var command = new List<byte>();
        var writable = new List<(ulong, uint)>();
        var (table, entries, index, indirect) = (_ring.Desc, _ring.Size, (int)head, false);
        for (var visited = 0; ; visited++)
        {
            if (visited >= entries) throw new Refusal($"the chain visits more descriptors than its {entries}-entry table holds (a loop)");
            var at = table + (ulong)SplitRing.DescriptorSize * (ulong)index;
            var (address, length) = (_memory.ReadU64(at), _memory.ReadU32(at + 8));
            var (flags, next) = (_memory.ReadU16(at + 12), _memory.ReadU16(at + 14));
            if ((flags & SplitRing.DescFIndirect) != 0)
            {
                if (!_indirect) throw new Refusal("an INDIRECT descriptor, but VIRTIO_F_INDIRECT_DESC was not negotiated");
                if (indirect) throw new Refusal("an INDIRECT descriptor inside an indirect table");
                if ((flags & SplitRing.DescFNext) != 0) throw new Refusal("a descriptor with both INDIRECT and NEXT");
                if (length == 0 || length % SplitRing.DescriptorSize != 0 || !_memory.Contains(address, (int)Math.Min(length, int.MaxValue)))
                    throw new Refusal($"indirect table 0x{address:x}+{length} is empty, not whole descriptors or outside guest memory");
                (table, entries, index, indirect, visited) = (address, (int)(length / SplitRing.DescriptorSize), 0, true, -1);
                continue;
            }
            if (length > 0 && !_memory.Contains(address, (int)Math.Min(length, int.MaxValue)))
                throw new Refusal($"buffer 0x{address:x}+{length} is outside guest memory");
            if ((flags & SplitRing.DescFWrite) != 0)
                writable.Add((address, length));
            else if (writable.Count > 0)
                throw new Refusal("a device-readable descriptor after a device-writable one");
            else if (command.Count < IControlqRing.MaxCommandBytes)
                command.AddRange(_memory.Span(address, (int)Math.Min(length, (uint)(IControlqRing.MaxCommandBytes - command.Count))).ToArray());
            if ((flags & SplitRing.DescFNext) == 0) return new ControlRequest(head, [.. command], writable);
            if (next >= entries) throw new Refusal($"next {next} is outside the {entries}-entry table");
            index = next;
        }
    }

    private sealed class Refusal(string message) : Exception(message);
}
