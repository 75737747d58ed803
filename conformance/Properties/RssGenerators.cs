using System.Net;
using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Driver;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Conformance.Properties;

/// <summary>One packet of an RSS case and the transmitq it goes out on.</summary>
public sealed record RssSend(HashTestPacket? Packet, int TxPair)
{
    /// <summary>A fresh frame of the packet (ARP when <see cref="Packet"/> is null) with a tag no other frame has.</summary>
    public byte[] Frame() => Packet?.Frame(NextTag()) ?? HashTestPacket.Arp(NextTag());

    private static long s_tag = 0x5253530000000000;
    private static ulong NextTag() => (ulong)Interlocked.Increment(ref s_tag);

    public override string ToString() => $"{(Packet?.ToString() ?? "ARP")} on transmitq{TxPair}";
}

/// <summary>Keys, indirection tables, hash type sets and packets for the RSS and hash reporting checks (§5.1.9.4.3, §5.1.9.5.7).</summary>
public static class RssGenerators
{
    /// <summary>The key length the cases use: the spec's minimum, which covers the longest input (IPv6 with ports, 36 bytes).</summary>
    public const int KeyLength = 40;

    public static Gen<byte[]> Key =>
        Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), KeyLength).Select(a => a.ToArray());

    /// <summary>Any subset of the supported types, often the usual ones (all of them, or TCP and IP of both versions).</summary>
    public static Gen<NetHashTypes> HashTypes(NetHashTypes supported) =>
        Gen.Frequency(
            (6, Gen.Choose(0, (int)NetHashTypes.All).Select(b => (NetHashTypes)b & supported)),
            (2, Gen.Constant(supported)),
            (2, Gen.Constant((NetHashTypes.IPv4 | NetHashTypes.TcpV4 | NetHashTypes.IPv6 | NetHashTypes.TcpV6) & supported)));

    /// <summary>A power-of-two table of 1..<paramref name="maxLength"/> entries naming receiveq1..<paramref name="pairs"/>, uniform or not.</summary>
    public static Gen<ushort[]> Table(int pairs, int maxLength)
    {
        var lengths = Enumerable.Range(0, 8).Select(k => 1 << k).Where(l => l <= Math.Max(1, maxLength)).ToArray();
        return from length in Gen.Elements(lengths)
               from kind in Gen.Choose(0, 2)
               from entries in Gen.ArrayOf(Gen.Choose(0, pairs - 1).Select(q => (ushort)q), length)
               select kind == 0 ? Enumerable.Range(0, length).Select(i => (ushort)(i % pairs)).ToArray() : entries.ToArray();
    }

    public static Gen<HashTestPacket?> Packet =>
        from v in Gen.Elements(4, 6)
        from protocol in Gen.Frequency((4, Gen.Constant(HashTestPacket.Tcp)), (4, Gen.Constant(HashTestPacket.Udp)), (1, Gen.Constant(HashTestPacket.Sctp)))
        from src in Address(v)
        from dst in Address(v)
        from sport in Gen.Choose(1, 65535)
        from dport in Gen.Choose(1, 65535)
        from ext in v == 6 ? Gen.Frequency((3, Gen.Constant(Ipv6Extensions.None)), (1, Gen.Choose(1, 7).Select(e => (Ipv6Extensions)e))) : Gen.Constant(Ipv6Extensions.None)
        from home in Address(6)
        from routed in Address(6)
        from arp in Gen.Frequency((12, Gen.Constant(false)), (1, Gen.Constant(true)))
        from fragment in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
        select arp ? null : new HashTestPacket(v, src, dst, protocol, (ushort)sport, (ushort)dport, ext, home, routed, fragment);

    private static Gen<IPAddress> Address(int version) =>
        Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), version == 4 ? 4 : 16).Select(b => new IPAddress(b.ToArray()));

    public static Gen<RssSend[]> Sends(int pairs, int min, int max) =>
        from n in Gen.Choose(min, max)
        from sends in Gen.ArrayOf(from p in Packet from tx in Gen.Choose(1, pairs) select new RssSend(p, tx), n)
        select sends.ToArray();

    /// <summary>An RSS configuration for a device of <paramref name="limits"/>, valid by every driver rule of §5.1.9.5.7.2.</summary>
    public static Gen<RssConfig> Config(RssLimits limits, int maxPairs) =>
        from pairs in Gen.Choose(1, Math.Max(1, maxPairs))
        from table in Table(pairs, Math.Min(limits.MaxIndirectionTableLength, 128))
        from unclassified in Gen.Choose(0, pairs - 1)
        from types in HashTypes(limits.SupportedHashTypes)
        from key in Key
        select new RssConfig(types, (ushort)unclassified, table, (ushort)pairs, key);
}
