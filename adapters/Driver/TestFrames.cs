using System.Buffers.Binary;

namespace VirtioMq.Adapters.Driver;

/// <summary>
/// Ethernet/IPv4/UDP frames the suite sends. The flow number picks the UDP ports (so steering sees distinct
/// flows); a 64-bit tag in the payload lets the suite find each frame again wherever it comes back.
/// </summary>
public static class TestFrames
{
    public const int Length = 64;
    private const int TagOffset = 42;
    private static readonly byte[] Magic = "VMQC"u8.ToArray();

    /// <summary>The Ethernet addresses of every test frame: the device's default MAC as destination, a local one as source.</summary>
    internal static readonly byte[] DestinationMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    internal static readonly byte[] SourceMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

    public static byte[] Udp(int flow, ulong tag)
    {
        var f = new byte[Length];
        DestinationMac.CopyTo(f, 0);
        SourceMac.CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        f[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), Length - 14);
        f[22] = 64;
        f[23] = 17;
        byte[] srcIp = [10, 0, 0, 1], dstIp = [10, 0, 0, 2];
        srcIp.CopyTo(f, 26);
        dstIp.CopyTo(f, 30);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(24), Ipv4Checksum(f.AsSpan(14, 20)));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(34), (ushort)(10000 + (flow & 0x3FFF)));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(36), (ushort)(20000 + ((flow >> 14) & 0x3FFF)));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(38), Length - 34);
        BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(TagOffset), tag);
        Magic.CopyTo(f, TagOffset + 8);
        return f;
    }

    /// <summary>The tag of a frame the suite sent, or null for any other frame.</summary>
    public static ulong? TagOf(ReadOnlySpan<byte> frame) =>
        frame.Length >= TagOffset + 12 && frame.Slice(TagOffset + 8, 4).SequenceEqual(Magic)
            ? BinaryPrimitives.ReadUInt64BigEndian(frame[TagOffset..])
            : null;

    internal static ushort Ipv4Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (var i = 0; i < header.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
