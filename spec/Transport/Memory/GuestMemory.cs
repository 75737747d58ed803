using System.Buffers.Binary;

namespace VirtioMq.Spec.Memory;

/// <summary>
/// Guest-physical address space made of mapped regions, as a device sees it. Every access is bounds-checked:
/// an address the guest controls can never reach outside a mapping.
/// </summary>
public sealed class GuestMemory
{
    private sealed record Region(ulong Start, ulong Length, SharedMemoryRegion Mapping, long Offset);

    // An array, not a list: the data path looks an address up several times per frame.
    private Region[] _regions = [];
    // Accesses come in runs within one region (a ring, a buffer), so the last hit is tried first.
    private Region? _lastHit;

    public void AddRegion(ulong guestAddress, SharedMemoryRegion region, long regionOffset = 0, long? length = null)
    {
        var len = (ulong)(length ?? region.Size - regionOffset);
        if (len == 0 || regionOffset < 0 || (long)len > region.Size - regionOffset)
            throw new ArgumentOutOfRangeException(nameof(length), "the region slice does not fit its mapping");
        if (guestAddress + len < guestAddress)
            throw new ArgumentOutOfRangeException(nameof(guestAddress), "the region wraps the 64-bit address space");
        foreach (var r in _regions)
            if (guestAddress < r.Start + r.Length && r.Start < guestAddress + len)
                throw new ArgumentException($"region 0x{guestAddress:x}+0x{len:x} overlaps region 0x{r.Start:x}+0x{r.Length:x}");
        _regions = [.. _regions, new Region(guestAddress, len, region, regionOffset)];
    }

    /// <summary>A span of guest memory that lies wholly inside one region.</summary>
    public Span<byte> Span(ulong address, int length)
    {
        if (length < 0) throw new GuestMemoryFault(address, length);
        if (_lastHit is { } last && Holds(last, address, length)) return last.Mapping.Span(last.Offset + (long)(address - last.Start), length);
        foreach (var r in _regions)
        {
            if (!Holds(r, address, length)) continue;
            _lastHit = r;
            return r.Mapping.Span(r.Offset + (long)(address - r.Start), length);
        }
        throw new GuestMemoryFault(address, length);
    }

    private static bool Holds(Region r, ulong address, int length) =>
        address >= r.Start && address - r.Start < r.Length && (ulong)length <= r.Length - (address - r.Start);

    public bool Contains(ulong address, int length)
    {
        try { Span(address, length); return true; }
        catch (GuestMemoryFault) { return false; }
    }

    // The idx fields publish ring entries to the other side, which runs concurrently (another thread or
    // process). The acquire/release pair orders the entries and payload against the idx that exposes them.
    // Volatile gives exactly that, at no cost on x86, where a full fence per access was a needless expense on
    // the data path. Where a store must be ordered before a later load, the caller fences.
    public ushort ReadU16(ulong a) => BinaryPrimitives.ReadUInt16LittleEndian(Span(a, 2));
    public uint ReadU32(ulong a) => BinaryPrimitives.ReadUInt32LittleEndian(Span(a, 4));
    public ulong ReadU64(ulong a) => BinaryPrimitives.ReadUInt64LittleEndian(Span(a, 8));
    public void WriteU16(ulong a, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Span(a, 2), v);
    public void WriteU32(ulong a, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Span(a, 4), v);
    public void WriteU64(ulong a, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Span(a, 8), v);

    public unsafe ushort ReadU16Acquire(ulong a)
    {
        fixed (byte* p = Span(a, 2)) // mapped memory, not the GC heap: fixing it costs nothing
        {
            if (IsAligned(p)) return FromLittleEndian(Volatile.Read(ref *(ushort*)p));
        }
        var v = ReadU16(a);
        Interlocked.MemoryBarrier();
        return v;
    }

    public unsafe void WriteU16Release(ulong a, ushort v)
    {
        fixed (byte* p = Span(a, 2))
        {
            if (IsAligned(p))
            {
                Volatile.Write(ref *(ushort*)p, FromLittleEndian(v));
                return;
            }
        }
        Interlocked.MemoryBarrier();
        WriteU16(a, v);
    }

    // The spec aligns every idx field (§2.7), but a driver can misplace a ring, and an atomic access to an odd
    // address is not possible on every CPU: such a field gets a plain access and a full fence instead.
    private static unsafe bool IsAligned(byte* p) => ((nuint)p & 1) == 0;

    private static ushort FromLittleEndian(ushort v) => BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
}
