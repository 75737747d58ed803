using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.Driver;

/// <summary>
/// The buffer half of adding and taking back a buffer, which both ring formats share: each segment in a slot of its own,
/// readable ones filled, writable ones zeroed, and on return the writable bytes gathered. Where the descriptors go is
/// each format's own business.
/// </summary>
internal static class BufferSlots
{
    /// <summary>A segment's slot, its length and the descriptor flags it needs (only WRITE here: 2 in both formats' numbering).</summary>
    public readonly record struct Segment(ulong Addr, uint Len, ushort Flags);

    /// <summary>The slots of one buffer: every slot to free, its segments in order, and the writable ones.</summary>
    public sealed record Staged(List<ulong> Slots, List<Segment> Segments, List<(ulong Addr, uint Len)> Writable);

    /// <summary>Refuses a buffer no slot layout can carry: no segment at all, or one empty or longer than a slot.</summary>
    public static void Validate(IReadOnlyList<byte[]> readable, IReadOnlyList<int> writableLengths)
    {
        if (readable.Count + writableLengths.Count == 0) throw new ArgumentException("a buffer needs at least one segment");
        if (readable.Any(r => r.Length > GuestAllocator.SlotSize) || writableLengths.Any(l => l is <= 0 or > GuestAllocator.SlotSize))
            throw new ArgumentException($"each segment must be 1..{GuestAllocator.SlotSize} bytes");
    }

    /// <summary>Puts each segment in a slot: readable ones hold their bytes, writable ones (flagged <paramref name="writeFlag"/>) are zeroed.</summary>
    public static Staged Stage(GuestMemory mem, GuestAllocator alloc, IReadOnlyList<byte[]> readable, IReadOnlyList<int> writableLengths, ushort writeFlag)
    {
        var staged = new Staged([], [], []);
        foreach (var r in readable)
        {
            var s = alloc.AllocateSlot();
            staged.Slots.Add(s);
            r.CopyTo(mem.Span(s, r.Length));
            staged.Segments.Add(new Segment(s, (uint)r.Length, 0));
        }
        foreach (var len in writableLengths)
        {
            var s = alloc.AllocateSlot();
            staged.Slots.Add(s);
            // Zeroed, so whatever the device leaves in it was written by this use: a frame found past the used length
            // proves the length short, never an echo of the slot's previous use.
            mem.Span(s, len).Clear();
            staged.Segments.Add(new Segment(s, (uint)len, writeFlag));
            staged.Writable.Add((s, (uint)len));
        }
        return staged;
    }

    /// <summary>How many bytes a buffer's writable segments hold: what a buffer skipped inside an in-order batch counts as written.</summary>
    public static long Capacity(IReadOnlyList<(ulong Addr, uint Len)> writable) => writable.Sum(w => (long)w.Len);

    /// <summary>
    /// All the writable bytes of a returned buffer, not only the first <paramref name="usedLength"/>: a frame that runs past
    /// a short used length is still found. Also the bytes the used length covers.
    /// </summary>
    public static (byte[] Contents, byte[] Written) Gather(GuestMemory mem, IReadOnlyList<(ulong Addr, uint Len)> writable, uint usedLength)
    {
        var contents = new byte[Capacity(writable)];
        var at = 0;
        foreach (var (addr, len) in writable)
        {
            mem.Span(addr, (int)len).CopyTo(contents.AsSpan(at));
            at += (int)len;
        }
        return (contents, contents[..(int)Math.Min(usedLength, (uint)contents.Length)]);
    }
}
