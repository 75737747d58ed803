using System.Buffers.Binary;
using System.Net;

namespace VirtioMq.Adapters.Driver;

/// <summary>IPv6 extension headers a test packet may carry before its TCP or UDP header (§5.1.9.4.3.4).</summary>
[Flags]
public enum Ipv6Extensions
{
    None = 0,
    HopByHop = 1,
    /// <summary>A destination options header with a Home Address option: the _EX types hash its address as the source.</summary>
    HomeAddress = 2,
    /// <summary>A type 2 routing header: the _EX types hash its address as the destination.</summary>
    RoutingType2 = 4,
}

/// <summary>
/// One packet the RSS and hash checks send: IPv4 or IPv6, TCP, UDP or another protocol, IPv6 extension headers, a tag
/// in the payload that makes every frame unique, so the suite finds it again by its bytes. A later fragment (offset past
/// 0) has no TCP or UDP header: the bytes where one would be are payload, and no hash may read ports there.
/// </summary>
public sealed record HashTestPacket(
    int IpVersion,
    IPAddress Source,
    IPAddress Destination,
    byte Protocol,
    ushort SourcePort,
    ushort DestinationPort,
    Ipv6Extensions Extensions = Ipv6Extensions.None,
    IPAddress? HomeAddress = null,
    IPAddress? RoutingAddress = null,
    bool LaterFragment = false)
{
    public const byte Tcp = 6;
    public const byte Udp = 17;
    /// <summary>SCTP: an IP protocol the spec's hash types do not cover, hashed by addresses alone.</summary>
    public const byte Sctp = 132;

    private static readonly byte[] DestinationMac = TestFrames.DestinationMac;
    private static readonly byte[] SourceMac = TestFrames.SourceMac;
    private static readonly byte[] Magic = "VMQR"u8.ToArray();

    /// <summary>An Ethernet frame of this packet whose payload carries <paramref name="tag"/>.</summary>
    public byte[] Frame(ulong tag)
    {
        var l4 = L4(tag);
        var ip = IpVersion == 4 ? IPv4(l4) : IPv6(l4);
        return [.. DestinationMac, .. SourceMac, .. BigEndian16(IpVersion == 4 ? 0x0800 : 0x86DD), .. ip];
    }

    /// <summary>A frame no hash type covers (ARP), tagged the same way.</summary>
    public static byte[] Arp(ulong tag)
    {
        var arp = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(2), 0x0800);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(6), 1);
        return [.. DestinationMac, .. SourceMac, .. BigEndian16(0x0806), .. arp, .. Payload(tag)];
    }

    private byte[] L4(ulong tag)
    {
        var payload = Payload(tag);
        // TCP's 20-byte header; UDP's 8, which other protocols get too (ports first, as SCTP has them).
        var header = new byte[Protocol == Tcp ? 20 : 8];
        BinaryPrimitives.WriteUInt16BigEndian(header, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), DestinationPort);
        if (Protocol == Tcp)
        {
            header[12] = 5 << 4;
            header[13] = 0x18; // PSH, ACK
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), 0xFFFF);
        }
        else if (Protocol == Udp) BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), (ushort)(8 + payload.Length));
        return [.. header, .. payload];
    }

    private byte[] IPv4(byte[] l4)
    {
        var h = new byte[20];
        h[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), (ushort)(20 + l4.Length));
        // A later fragment: offset 1480 bytes, more to come; else don't fragment.
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(6), LaterFragment ? (ushort)(0x2000 | 185) : (ushort)0x4000);
        h[8] = 64;
        h[9] = Protocol;
        Source.GetAddressBytes().CopyTo(h, 12);
        Destination.GetAddressBytes().CopyTo(h, 16);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(10), TestFrames.Ipv4Checksum(h));
        return [.. h, .. l4];
    }

    private byte[] IPv6(byte[] l4)
    {
        var ext = new List<(byte Type, byte[] Body)>();
        if (Extensions.HasFlag(Ipv6Extensions.HopByHop)) ext.Add((0, [0, 0, 1, 4, 0, 0, 0, 0])); // PadN over 6 bytes
        if (Extensions.HasFlag(Ipv6Extensions.HomeAddress))
            // Pad to 8n+6 for the option's alignment, then type 201, length 16, the address.
            ext.Add((60, [0, 2, 1, 2, 0, 0, 201, 16, .. (HomeAddress ?? Source).GetAddressBytes()]));
        if (Extensions.HasFlag(Ipv6Extensions.RoutingType2))
            ext.Add((43, [0, 2, 2, 1, 0, 0, 0, 0, .. (RoutingAddress ?? Destination).GetAddressBytes()]));
        // Fragment header: offset 185 × 8 bytes, more to come, an identification; its second byte is reserved (0).
        if (LaterFragment) ext.Add((44, [0, 0, 185 >> 5, (185 << 3 & 0xF8) | 1, 0, 0, 0x12, 0x34]));
        var chain = new List<byte>();
        for (var i = 0; i < ext.Count; i++)
        {
            var next = i + 1 < ext.Count ? ext[i + 1].Type : Protocol;
            var body = ext[i].Body;
            body[0] = next;
            if (ext[i].Type != 44) body[1] = (byte)(body.Length / 8 - 1);
            chain.AddRange(body);
        }
        var h = new byte[40];
        h[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), (ushort)(chain.Count + l4.Length));
        h[6] = ext.Count > 0 ? ext[0].Type : Protocol;
        h[7] = 64;
        Source.GetAddressBytes().CopyTo(h, 8);
        Destination.GetAddressBytes().CopyTo(h, 24);
        return [.. h, .. chain, .. l4];
    }

    private static byte[] Payload(ulong tag)
    {
        var p = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(p, tag);
        Magic.CopyTo(p, 8);
        return p;
    }

    private static byte[] BigEndian16(int v) => [(byte)(v >> 8), (byte)v];

    public override string ToString()
    {
        var l4 = Protocol switch { Tcp => "TCP", Udp => "UDP", _ => $"proto {Protocol}" };
        var ext = Extensions == Ipv6Extensions.None ? "" : $" ext={Extensions}";
        return $"IPv{IpVersion} {l4} {Source}:{SourcePort} -> {Destination}:{DestinationPort}{ext}{(LaterFragment ? " (later fragment)" : "")}";
    }
}
