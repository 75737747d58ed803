using System.Buffers.Binary;

namespace VirtioMq.Spec.Rss;

/// <summary>The transport protocol a packet carries, as far as hashing cares (§5.1.9.4.3).</summary>
public enum L4Kind
{
    None,
    Tcp,
    Udp,
}

/// <summary>
/// What §5.1.9.4.3 hashes, read from an Ethernet frame: the IP version, the addresses, the TCP or UDP ports when the
/// packet has that header, and for IPv6 whether extension headers are present with the home address option and the
/// type 2 routing header address they may carry.
/// </summary>
public sealed record PacketHeaders(
    int IpVersion,
    byte[] Source,
    byte[] Destination,
    L4Kind L4,
    byte[] Ports,
    bool HasExtensionHeaders,
    byte[]? HomeAddress,
    byte[]? RoutingAddress)
{
    private const int EthernetHeader = 14;

    /// <summary>
    /// The headers of <paramref name="frame"/>; null for a frame that is no IP packet the spec's rules cover (not IPv4 or
    /// IPv6 in a plain Ethernet frame), for which no hash is computed. <paramref name="unsure"/> is set for packets whose
    /// treatment the spec leaves open (truncated headers, fragments): an oracle does not judge those.
    /// </summary>
    public static PacketHeaders? Read(ReadOnlySpan<byte> frame, out bool unsure)
    {
        unsure = false;
        if (frame.Length < EthernetHeader) return null;
        var type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        var ip = frame[EthernetHeader..];
        return type switch
        {
            0x0800 => ReadIPv4(ip, out unsure),
            0x86DD => ReadIPv6(ip, out unsure),
            // A VLAN tag in front of IP: whether the device looks past it the spec does not say.
            0x8100 or 0x88A8 => Unsure(out unsure),
            _ => null,
        };
    }

    private static PacketHeaders? Unsure(out bool unsure)
    {
        unsure = true;
        return null;
    }

    private static PacketHeaders? ReadIPv4(ReadOnlySpan<byte> ip, out bool unsure)
    {
        unsure = false;
        if (ip.Length < 20 || ip[0] >> 4 != 4 || (ip[0] & 0xF) < 5 || ip.Length < (ip[0] & 0xF) * 4) return Unsure(out unsure);
        var ihl = (ip[0] & 0xF) * 4;
        var fragment = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        var offset = fragment & 0x1FFF;
        var more = (fragment & 0x2000) != 0;
        // A first fragment has the L4 header but not the whole datagram; whether to hash its ports the spec leaves open.
        if (offset == 0 && more) unsure = true;
        var l4 = offset != 0 ? L4Kind.None : Kind(ip[9]);
        var (kind, ports) = ReadPorts(l4, ip[ihl..], ref unsure);
        return new PacketHeaders(4, ip[12..16].ToArray(), ip[16..20].ToArray(), kind, ports, false, null, null);
    }

    private static PacketHeaders? ReadIPv6(ReadOnlySpan<byte> ip, out bool unsure)
    {
        unsure = false;
        if (ip.Length < 40 || ip[0] >> 4 != 6) return Unsure(out unsure);
        var next = ip[6];
        var at = 40;
        var ext = false;
        byte[]? home = null, routing = null;
        var l4 = L4Kind.None;
        while (true)
        {
            if (next is 6 or 17)
            {
                l4 = Kind(next);
                break;
            }
            if (next is not (0 or 43 or 60 or 44 or 51)) break; // no next header, ESP, or an upper layer the spec does not hash
            if (at + 8 > ip.Length) return Unsure(out unsure);
            ext = true;
            var h = ip[at..];
            var length = next switch
            {
                44 => 8,
                51 => (h[1] + 2) * 4,
                _ => (h[1] + 1) * 8,
            };
            if (at + length > ip.Length) return Unsure(out unsure);
            if (next == 60) home ??= HomeAddressOption(h[2..length]);
            if (next == 43 && h[2] == 2 && length >= 24) routing ??= h[8..24].ToArray();
            if (next == 44 && (BinaryPrimitives.ReadUInt16BigEndian(h[2..]) & 0xFFF8) != 0)
            {
                next = 59; // a later fragment: no L4 header in it
                break;
            }
            if (next == 44 && (h[3] & 1) != 0) unsure = true;
            next = h[0];
            at += length;
        }
        var (kind, ports) = ReadPorts(l4, ip[Math.Min(at, ip.Length)..], ref unsure);
        return new PacketHeaders(6, ip[8..24].ToArray(), ip[24..40].ToArray(), kind, ports, ext, home, routing);
    }

    /// <summary>The 16-byte address of a Home Address option (type 201) among destination options, if there is one.</summary>
    private static byte[]? HomeAddressOption(ReadOnlySpan<byte> options)
    {
        var i = 0;
        while (i < options.Length)
        {
            if (options[i] == 0)
            {
                i++;
                continue;
            }
            if (i + 2 > options.Length || i + 2 + options[i + 1] > options.Length) return null;
            if (options[i] == 201 && options[i + 1] == 16) return options.Slice(i + 2, 16).ToArray();
            i += 2 + options[i + 1];
        }
        return null;
    }

    private static L4Kind Kind(byte protocol) => protocol switch
    {
        6 => L4Kind.Tcp,
        17 => L4Kind.Udp,
        _ => L4Kind.None,
    };

    private static (L4Kind, byte[]) ReadPorts(L4Kind kind, ReadOnlySpan<byte> l4, ref bool unsure)
    {
        var need = kind == L4Kind.Tcp ? 20 : 8;
        if (kind == L4Kind.None) return (L4Kind.None, []);
        if (l4.Length < need)
        {
            // A TCP or UDP header cut short: whether the packet "has a TCP header" is anyone's guess.
            unsure = true;
            return (L4Kind.None, []);
        }
        return (kind, l4[..4].ToArray());
    }
}
