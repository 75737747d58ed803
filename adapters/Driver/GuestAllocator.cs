using VirtioMq.Spec;

namespace VirtioMq.Adapters.Driver;

/// <summary>
/// Hands out guest-physical memory for rings (bump allocation, never freed until the driver re-initialises)
/// and fixed-size data slots (free list), the way a guest kernel would from its own RAM.
/// </summary>
public sealed class GuestAllocator
{
    public const int SlotSize = 2048;
    private readonly ulong _base;
    private readonly ulong _end;
    private readonly ulong _slotsBase;
    private ulong _next;
    private readonly Stack<ulong> _freeSlots = new();
    private ulong _nextSlot;

    /// <param name="ringShare">The fraction of memory set aside for rings; the rest holds data slots.</param>
    public GuestAllocator(ulong @base, ulong size, double ringShare = 0.25)
    {
        _base = @base;
        _end = @base + size;
        _slotsBase = Align(@base + (ulong)(size * ringShare), SlotSize);
        _next = @base;
        _nextSlot = _slotsBase;
    }

    public ulong AllocateRing(int bytes, int align)
    {
        var at = Align(_next, (ulong)align);
        if (at + (ulong)bytes > _slotsBase)
            throw new InsufficientMemoryException($"guest memory for rings is exhausted ({_slotsBase - _base} bytes); configure fewer or smaller queues");
        _next = at + (ulong)bytes;
        return at;
    }

    public ulong AllocateSlot()
    {
        if (_freeSlots.TryPop(out var s)) return s;
        if (_nextSlot + SlotSize > _end)
            throw new InsufficientMemoryException("guest memory for buffers is exhausted; too many buffers outstanding");
        var at = _nextSlot;
        _nextSlot += SlotSize;
        return at;
    }

    public void FreeSlot(ulong slot) => _freeSlots.Push(slot);

    /// <summary>Forgets every allocation: only after a device reset, when no ring is live (§3.3.1).</summary>
    public void Clear()
    {
        _next = _base;
        _nextSlot = _slotsBase;
        _freeSlots.Clear();
    }

    private static ulong Align(ulong v, ulong a) => (v + a - 1) / a * a;

    /// <summary>Bytes of ring memory one split queue of <paramref name="size"/> entries needs, with alignment slack.</summary>
    public static int RingBytes(int size) =>
        SplitRing.DescriptorTableBytes(size) + SplitRing.AvailRingBytes(size) + SplitRing.UsedRingBytes(size) + 32;
}
