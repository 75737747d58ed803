using System.Buffers.Binary;

namespace VirtioMq.Reference.Memory;

/// <summary>
/// Guest-physical address space made of mapped regions, as a device sees it. Every access is bounds-checked:
/// an address the guest controls can never reach outside a mapping.
/// </summary>
public sealed class GuestMemory
{
    private readonly List<(ulong Start, ulong Length, SharedMemoryRegion Region, long Offset)> _regions = [];

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
        _regions.Add((guestAddress, len, region, regionOffset));
    }

    /// <summary>A span of guest memory that lies wholly inside one region.</summary>
    public Span<byte> Span(ulong address, int length)
    {
        if (length < 0) throw new GuestMemoryFault(address, length);
        foreach (var r in _regions)
        {
            if (address < r.Start) continue;
            var off = address - r.Start;
            if (off < r.Length && (ulong)length <= r.Length - off)
                return r.Region.Span(r.Offset + (long)off, length);
        }
        throw new GuestMemoryFault(address, length);
    }

    public bool Contains(ulong address, int length)
    {
        try { Span(address, length); return true; }
        catch (GuestMemoryFault) { return false; }
    }

    // The idx fields publish ring entries to the other side, which runs concurrently (another thread or
    // process). The acquire/release pair orders the entries and payload against the idx that exposes them.
    public ushort ReadU16(ulong a) => BinaryPrimitives.ReadUInt16LittleEndian(Span(a, 2));
    public uint ReadU32(ulong a) => BinaryPrimitives.ReadUInt32LittleEndian(Span(a, 4));
    public ulong ReadU64(ulong a) => BinaryPrimitives.ReadUInt64LittleEndian(Span(a, 8));
    public void WriteU16(ulong a, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Span(a, 2), v);
    public void WriteU32(ulong a, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Span(a, 4), v);
    public void WriteU64(ulong a, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Span(a, 8), v);

    public ushort ReadU16Acquire(ulong a)
    {
        var v = ReadU16(a);
        Interlocked.MemoryBarrier();
        return v;
    }

    public void WriteU16Release(ulong a, ushort v)
    {
        Interlocked.MemoryBarrier();
        WriteU16(a, v);
    }
}
