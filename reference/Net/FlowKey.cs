using System.Buffers.Binary;

namespace VirtioMq.Reference.Net;

/// <summary>
/// What makes two frames one flow for automatic receive steering: the Ethernet addresses and type and, for
/// IPv4, the addresses, protocol and (TCP/UDP) ports. Direction-free, so a reply belongs to its request's flow.
/// </summary>
// Stryker disable all : equivalent in a loopback device: a frame's key is computed on transmit and looked up for that same
// frame at once, so any deterministic key steers alike (AnyProtocolSteeringTests kills the mutants that crash on odd frames)
public readonly record struct FlowKey(UInt128 A, UInt128 B, ushort EtherType, byte Protocol)
{
    public static FlowKey Of(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14) return new FlowKey(Read(frame, 0, frame.Length), 0, 0, 0);
        var type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        if (type == 0x0800 && frame.Length >= 34)
        {
            var ihl = (frame[14] & 0xF) * 4;
            var proto = frame[23];
            UInt128 src = BinaryPrimitives.ReadUInt32BigEndian(frame[26..]), dst = BinaryPrimitives.ReadUInt32BigEndian(frame[30..]);
            if ((proto == 6 || proto == 17) && frame.Length >= 14 + ihl + 4)
            {
                src = (src << 16) | BinaryPrimitives.ReadUInt16BigEndian(frame[(14 + ihl)..]);
                dst = (dst << 16) | BinaryPrimitives.ReadUInt16BigEndian(frame[(16 + ihl)..]);
            }
            return Ordered(src, dst, type, proto);
        }
        return Ordered(Mac(frame, 6), Mac(frame, 0), type, 0);
    }

    /// <summary>
    /// The key as a number that is the same in every process (GetHashCode is seeded per process), so that a seed replayed
    /// against the reference, or one of its zoo variants, steers each flow as it did the first time.
    /// </summary>
    public uint StableHash()
    {
        // FNV-1a over the fields' 64-bit halves, then a final avalanche so that nearby ports spread.
        var h = 14695981039346656037UL;
        foreach (var part in (ReadOnlySpan<ulong>)[(ulong)A, (ulong)(A >> 64), (ulong)B, (ulong)(B >> 64), (ulong)EtherType << 8 | Protocol])
            h = (h ^ part) * 1099511628211UL;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        return (uint)h;
    }

    // Whole fields at once: this runs for every frame, and a byte at a time in 128-bit arithmetic was slow.
    private static UInt128 Mac(ReadOnlySpan<byte> s, int at) =>
        (ulong)BinaryPrimitives.ReadUInt32BigEndian(s[at..]) << 16 | BinaryPrimitives.ReadUInt16BigEndian(s[(at + 4)..]);

    private static FlowKey Ordered(UInt128 x, UInt128 y, ushort type, byte proto) =>
        x <= y ? new FlowKey(x, y, type, proto) : new FlowKey(y, x, type, proto);

    private static UInt128 Read(ReadOnlySpan<byte> s, int at, int len)
    {
        UInt128 v = 0;
        for (var i = 0; i < len && at + i < s.Length; i++) v = (v << 8) | s[at + i];
        return v;
    }
}
