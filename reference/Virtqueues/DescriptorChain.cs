using VirtioMq.Reference.Memory;

namespace VirtioMq.Reference.Virtqueues;

/// <summary>One guest buffer segment of a descriptor chain.</summary>
public readonly record struct Segment(ulong Address, uint Length, bool DeviceWritable);

/// <summary>
/// A validated descriptor chain: every segment lies inside guest memory and device-readable segments come
/// first (§2.7.4.2), so the code that consumes it cannot be led outside memory.
/// </summary>
public sealed class DescriptorChain(ushort head, IReadOnlyList<Segment> segments)
{
    public ushort Head { get; } = head;
    public IReadOnlyList<Segment> Segments { get; } = segments;

    public long ReadableLength => Segments.Where(s => !s.DeviceWritable).Sum(s => (long)s.Length);
    public long WritableLength => Segments.Where(s => s.DeviceWritable).Sum(s => (long)s.Length);

    /// <summary>Gathers the device-readable bytes, at most <paramref name="limit"/> of them.</summary>
    public byte[] ReadAll(GuestMemory memory, int limit)
    {
        var total = (int)Math.Min(ReadableLength, limit);
        var bytes = new byte[total];
        var at = 0;
        foreach (var s in Segments)
        {
            if (s.DeviceWritable || at == total) continue;
            var n = (int)Math.Min(s.Length, (uint)(total - at));
            memory.Span(s.Address, n).CopyTo(bytes.AsSpan(at));
            at += n;
        }
        return bytes;
    }

    /// <summary>Scatters <paramref name="data"/> over the device-writable segments; returns the bytes written.</summary>
    public int Write(GuestMemory memory, ReadOnlySpan<byte> data)
    {
        var at = 0;
        foreach (var s in Segments)
        {
            if (!s.DeviceWritable || at == data.Length) continue;
            var n = (int)Math.Min(s.Length, (uint)(data.Length - at));
            data.Slice(at, n).CopyTo(memory.Span(s.Address, n));
            at += n;
        }
        return at;
    }
}
