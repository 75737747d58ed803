using System.Runtime.Intrinsics.X86;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Reference.Virtqueues;

/// <summary>One guest buffer segment of a descriptor chain.</summary>
public readonly record struct Segment(ulong Address, uint Length, bool DeviceWritable);

/// <summary>
/// A validated descriptor chain: every segment lies inside guest memory and device-readable segments come
/// first (§2.7.4.2, §2.8.4), so the code that consumes it cannot be led outside memory.
/// </summary>
public sealed class DescriptorChain
{
    // An array, so the loops below run without an enumerator object per frame.
    private readonly Segment[] _segments;

    /// <param name="head">The id the driver knows the buffer by: split, the head descriptor's index; packed, the Buffer ID.</param>
    /// <param name="slots">How far the available side moved to take the chain: split, 1; packed, the ring descriptors it took.</param>
    public DescriptorChain(ushort head, IReadOnlyList<Segment> segments, int slots = 1)
    {
        Head = head;
        Slots = slots;
        // Stryker disable once all : equivalent: the cast only saves a copy
        _segments = segments as Segment[] ?? [.. segments];
        // Summed once here: the data path asks for them on every frame.
        foreach (var s in _segments)
        {
            if (s.DeviceWritable) WritableLength += s.Length;
            else ReadableLength += s.Length;
        }
    }

    /// <summary>The id the driver knows the buffer by: split, the head descriptor's index; packed, the Buffer ID.</summary>
    public ushort Head { get; }

    /// <summary>How far the available side moved to take the chain: split, one entry; packed, the ring descriptors it took.</summary>
    public int Slots { get; }

    /// <summary>What returning the chain used takes (<see cref="IDeviceVirtqueue.AddUsed"/>).</summary>
    public ChainHandle Handle => new(Head, Slots, WritableLength);
    public IReadOnlyList<Segment> Segments => _segments;
    public long ReadableLength { get; }
    public long WritableLength { get; }

    /// <summary>Gathers the device-readable bytes, at most <paramref name="limit"/> of them.</summary>
    public byte[] ReadAll(GuestMemory memory, int limit)
    {
        var bytes = new byte[(int)Math.Min(ReadableLength, limit)];
        CopyReadable(memory, bytes);
        return bytes;
    }

    /// <summary>
    /// Asks the CPU to start fetching the first cache lines of the chain's device-readable bytes (x86; elsewhere it does
    /// nothing). A transmit buffer was just written by the front-end on another core: fetched one frame at a time, each
    /// copy waits for its lines in turn, so a burst is taken first with its lines asked for, then copied.
    /// </summary>
    public unsafe void PrefetchReadable(GuestMemory memory)
    {
        if (!Sse.IsSupported || _segments.Length == 0 || _segments[0].DeviceWritable || _segments[0].Length == 0) return;
        var first = _segments[0];
        var bytes = memory.Span(first.Address, (int)Math.Min(first.Length, PrefetchBytes));
        fixed (byte* p = bytes)
        {
            for (var at = 0; at < bytes.Length; at += CacheLine) Sse.Prefetch0(p + at);
        }
    }

    private const int CacheLine = 64;

    /// <summary>A 64-byte frame behind its virtio-net header spans two lines; longer frames stream in on their own.</summary>
    private const uint PrefetchBytes = 2 * CacheLine;

    /// <summary>Gathers the device-readable bytes into <paramref name="destination"/> until it is full; returns how many.</summary>
    public int CopyReadable(GuestMemory memory, Span<byte> destination)
    {
        var total = (int)Math.Min(ReadableLength, destination.Length);
        var at = 0;
        foreach (var s in _segments)
        {
            // Stryker disable once all : equivalent: Walk puts every readable segment before the writable ones, so the copy is complete when the first writable one comes
            if (s.DeviceWritable || at == total) continue;
            var n = (int)Math.Min(s.Length, (uint)(total - at));
            memory.Span(s.Address, n).CopyTo(destination[at..]);
            at += n;
        }
        return at;
    }

    /// <summary>Scatters <paramref name="data"/> over the device-writable segments; returns the bytes written.</summary>
    public int Write(GuestMemory memory, ReadOnlySpan<byte> data)
    {
        var at = 0;
        foreach (var s in _segments)
        {
            if (!s.DeviceWritable || at == data.Length) continue;
            var n = (int)Math.Min(s.Length, (uint)(data.Length - at));
            data.Slice(at, n).CopyTo(memory.Span(s.Address, n));
            at += n;
        }
        return at;
    }
}
