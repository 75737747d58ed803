using System.Net;
using VirtioMq.Adapters.Driver;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Tests.Spec;

/// <summary>
/// The hash oracle against answers nobody here wrote: the RSS verification suite of the Intel 82599 datasheet
/// (§7.1.2.8.3), which Microsoft's "Verifying the RSS hash calculation" page and DPDK's test_thash reproduce. The key,
/// address and port tuples and both hashes of each row are that table's; the code that computes them is ours.
/// </summary>
[TestFixture]
public sealed class ToeplitzKnownAnswerTests
{
    /// <summary>The 40-byte key of the verification suite.</summary>
    public static readonly byte[] VerificationKey = Convert.FromHexString("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa");

    // source, source port, destination, destination port, hash over addresses, hash over addresses and ports
    private static readonly object[] IPv4Rows =
    [
        new object[] { "66.9.149.187", 2794, "161.142.100.80", 1766, 0x323e8fc2u, 0x51ccc178u },
        new object[] { "199.92.111.2", 14230, "65.69.140.83", 4739, 0xd718262au, 0xc626b0eau },
        new object[] { "24.19.198.95", 12898, "12.22.207.184", 38024, 0xd2d0a5deu, 0x5c2b394au },
        new object[] { "38.27.205.30", 48228, "209.142.163.6", 2217, 0x82989176u, 0xafc7327fu },
        new object[] { "153.39.163.191", 44251, "202.188.127.2", 1303, 0x5d1809c5u, 0x10e828a2u },
    ];

    private static readonly object[] IPv6Rows =
    [
        new object[] { "3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 0x2cc18cd5u, 0x40207d3du },
        new object[] { "3ffe:501:8::260:97ff:fe40:efab", 14230, "ff02::1", 4739, 0x0f0c461cu, 0xdde51bbfu },
        new object[] { "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, "fe80::200:f8ff:fe21:67cf", 38024, 0x4b61e985u, 0x02d1feefu },
    ];

    [TestCaseSource(nameof(IPv4Rows))]
    [TestCaseSource(nameof(IPv6Rows))]
    public void Toeplitz_over_the_tuple_gives_the_published_hashes(string src, int sport, string dst, int dport, uint l3, uint l3l4)
    {
        byte[] addresses = [.. IPAddress.Parse(src).GetAddressBytes(), .. IPAddress.Parse(dst).GetAddressBytes()];
        byte[] ports = [(byte)(sport >> 8), (byte)sport, (byte)(dport >> 8), (byte)dport];
        Assert.That(Toeplitz.Hash(VerificationKey, addresses), Is.EqualTo(l3), "addresses only");
        Assert.That(Toeplitz.Hash(VerificationKey, [.. addresses, .. ports]), Is.EqualTo(l3l4), "addresses and ports");
    }

    [TestCaseSource(nameof(IPv4Rows))]
    public void The_oracle_reads_the_tuple_out_of_an_IPv4_frame(string src, int sport, string dst, int dport, uint l3, uint l3l4)
    {
        var tcp = Packet(4, src, sport, dst, dport, HashTestPacket.Tcp);
        Assert.That(Only(tcp, NetHashTypes.All), Is.EqualTo(new HashOutcome(NetHashReport.TcpV4, l3l4)));
        Assert.That(Only(tcp, NetHashTypes.IPv4 | NetHashTypes.UdpV4), Is.EqualTo(new HashOutcome(NetHashReport.IPv4, l3)),
            "TCP with TCPv4 off falls back to the addresses");
        var udp = Packet(4, src, sport, dst, dport, HashTestPacket.Udp);
        Assert.That(Only(udp, NetHashTypes.UdpV4), Is.EqualTo(new HashOutcome(NetHashReport.UdpV4, l3l4)));
        Assert.That(Only(udp, NetHashTypes.TcpV4), Is.EqualTo(HashOutcome.NotHashed), "UDP with only TCPv4 enabled is not hashed");
        Assert.That(Only(Packet(4, src, sport, dst, dport, HashTestPacket.Sctp), NetHashTypes.All), Is.EqualTo(new HashOutcome(NetHashReport.IPv4, l3)));
    }

    [TestCaseSource(nameof(IPv6Rows))]
    public void The_oracle_reads_the_tuple_out_of_an_IPv6_frame(string src, int sport, string dst, int dport, uint l3, uint l3l4)
    {
        var tcp = Packet(6, src, sport, dst, dport, HashTestPacket.Tcp);
        Assert.That(Only(tcp, NetHashTypes.TcpV6 | NetHashTypes.IPv6), Is.EqualTo(new HashOutcome(NetHashReport.TcpV6, l3l4)));
        Assert.That(Only(tcp, NetHashTypes.IPv6), Is.EqualTo(new HashOutcome(NetHashReport.IPv6, l3)));
        var udp = Packet(6, src, sport, dst, dport, HashTestPacket.Udp);
        Assert.That(Only(udp, NetHashTypes.UdpV6), Is.EqualTo(new HashOutcome(NetHashReport.UdpV6, l3l4)));
    }

    [TestCaseSource(nameof(IPv6Rows))]
    public void Extension_headers_put_the_home_and_routing_addresses_in_the_tuple(string src, int sport, string dst, int dport, uint l3, uint l3l4)
    {
        // The verification rows' addresses, moved into a Home Address option and a type 2 routing header of a packet
        // whose own addresses are something else: the _EX types must hash the moved ones, and give the row's hashes.
        var p = new HashTestPacket(6, IPAddress.Parse("2001:db8::1"), IPAddress.Parse("2001:db8::2"), HashTestPacket.Tcp, (ushort)sport, (ushort)dport,
            Ipv6Extensions.HopByHop | Ipv6Extensions.HomeAddress | Ipv6Extensions.RoutingType2, IPAddress.Parse(src), IPAddress.Parse(dst));
        var frame = p.Frame(7);
        Assert.That(Only(frame, NetHashTypes.TcpEx), Is.EqualTo(new HashOutcome(NetHashReport.TcpV6Ex, l3l4)));
        Assert.That(Only(frame, NetHashTypes.IPEx | NetHashTypes.UdpEx), Is.EqualTo(new HashOutcome(NetHashReport.IPv6Ex, l3)));
        // Without the _EX types the extension headers are skipped and the packet's own addresses hashed.
        var own = Only(frame, NetHashTypes.TcpV6);
        Assert.That(own.Report, Is.EqualTo(NetHashReport.TcpV6));
        Assert.That(own.Value, Is.Not.EqualTo(l3l4));
    }

    [TestCaseSource(nameof(IPv4Rows))]
    [TestCaseSource(nameof(IPv6Rows))]
    public void A_later_fragment_has_no_ports_to_hash(string src, int sport, string dst, int dport, uint l3, uint l3l4)
    {
        var v = src.Contains(':') ? 6 : 4;
        var fragment = new HashTestPacket(v, IPAddress.Parse(src), IPAddress.Parse(dst), HashTestPacket.Tcp, (ushort)sport, (ushort)dport, LaterFragment: true).Frame(9);
        var types = v == 4 ? NetHashTypes.IPv4 | NetHashTypes.TcpV4 : NetHashTypes.IPv6 | NetHashTypes.TcpV6;
        Assert.That(Only(fragment, types), Is.EqualTo(new HashOutcome(v == 4 ? NetHashReport.IPv4 : NetHashReport.IPv6, l3)));
        Assert.That(Only(fragment, v == 4 ? NetHashTypes.TcpV4 : NetHashTypes.TcpV6), Is.EqualTo(HashOutcome.NotHashed));
    }

    [Test]
    public void An_IPv6_packet_without_extension_headers_may_be_hashed_by_either_reading_of_the_EX_types()
    {
        var (src, sport, dst, dport, l3l4) = ("3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 0x40207d3du);
        var outcomes = PacketHash.Outcomes(Packet(6, src, sport, dst, dport, HashTestPacket.Tcp), NetHashTypes.TcpEx | NetHashTypes.TcpV6, VerificationKey);
        Assert.That(outcomes, Is.EqualTo(new[] { new HashOutcome(NetHashReport.TcpV6, l3l4), new HashOutcome(NetHashReport.TcpV6Ex, l3l4) }));
        var onlyEx = PacketHash.Outcomes(Packet(6, src, sport, dst, dport, HashTestPacket.Tcp), NetHashTypes.TcpEx, VerificationKey);
        Assert.That(onlyEx, Is.EqualTo(new[] { HashOutcome.NotHashed, new HashOutcome(NetHashReport.TcpV6Ex, l3l4) }));
    }

    [Test]
    public void Frames_the_spec_does_not_hash_or_leaves_open_are_told_apart()
    {
        Assert.That(PacketHash.Outcomes(HashTestPacket.Arp(1), NetHashTypes.All, VerificationKey), Is.EqualTo(new[] { HashOutcome.NotHashed }));
        var tcp = Packet(4, "10.0.0.1", 1, "10.0.0.2", 2, HashTestPacket.Tcp);
        Assert.That(PacketHash.Outcomes(tcp.AsSpan(0, 14 + 20 + 10), NetHashTypes.All, VerificationKey), Is.Null, "a TCP header cut short is left open");
        var vlan = (byte[])[.. tcp[..12], 0x81, 0x00, 0x00, 0x05, .. tcp[12..]];
        Assert.That(PacketHash.Outcomes(vlan, NetHashTypes.All, VerificationKey), Is.Null, "a VLAN tag is left open");
    }

    [Test]
    public void Hash_report_values_and_hash_type_bits_are_one_apart()
    {
        foreach (var report in Enum.GetValues<NetHashReport>().Where(r => r != NetHashReport.None))
            Assert.That((uint)NetHashReports.TypeOf(report), Is.EqualTo(1u << ((int)report - 1)));
        Assert.That(NetHeader.SizeFor(FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetHashReport)), Is.EqualTo(20));
        Assert.That(NetHeader.SizeFor(FeatureSet.Of(FeatureBit.Version1)), Is.EqualTo(12));
    }

    private static byte[] Packet(int v, string src, int sport, string dst, int dport, byte protocol) =>
        new HashTestPacket(v, IPAddress.Parse(src), IPAddress.Parse(dst), protocol, (ushort)sport, (ushort)dport).Frame(42);

    private static HashOutcome Only(byte[] frame, NetHashTypes types)
    {
        var outcomes = PacketHash.Outcomes(frame, types, VerificationKey);
        Assert.That(outcomes, Has.Count.EqualTo(1));
        return outcomes![0];
    }
}
