namespace VirtioMq.Spec;

/// <summary>
/// The hash types of §5.1.9.4.3.1: bits of <c>supported_hash_types</c> (config space), and of <c>hash_types</c> in
/// RSS_CONFIG and HASH_CONFIG. The _EX types take the addresses from IPv6 extension headers.
/// </summary>
[Flags]
public enum NetHashTypes : uint
{
    None = 0,
    IPv4 = 1 << 0,
    TcpV4 = 1 << 1,
    UdpV4 = 1 << 2,
    IPv6 = 1 << 3,
    TcpV6 = 1 << 4,
    UdpV6 = 1 << 5,
    IPEx = 1 << 6,
    TcpEx = 1 << 7,
    UdpEx = 1 << 8,

    /// <summary>Every type the spec defines; any other bit is unknown (§5.1.4 lets no device offer it).</summary>
    All = (1 << 9) - 1,
}

/// <summary>The <c>hash_report</c> values of the receive header (§5.1.9.4.5): HASH_TYPE_X = 1 &lt;&lt; (HASH_REPORT_X - 1).</summary>
public enum NetHashReport : ushort
{
    None = 0,
    IPv4 = 1,
    TcpV4 = 2,
    UdpV4 = 3,
    IPv6 = 4,
    TcpV6 = 5,
    UdpV6 = 6,
    IPv6Ex = 7,
    TcpV6Ex = 8,
    UdpV6Ex = 9,
}

public static class NetHashReports
{
    /// <summary>The hash type bit a report value stands for; None for NONE.</summary>
    public static NetHashTypes TypeOf(NetHashReport report) =>
        report == NetHashReport.None ? NetHashTypes.None : (NetHashTypes)(1u << ((int)report - 1));
}

/// <summary>
/// The virtio-net header in front of every packet (§5.1.9): 12 bytes with VERSION_1, 20 once HASH_REPORT is
/// negotiated, when <c>hash_value</c> (le32 at 12), <c>hash_report</c> (le16 at 16) and <c>padding_reserved</c> follow.
/// The driver uses the same size on transmit (§5.1.9.2.1).
/// </summary>
public static class NetHeader
{
    public const int BaseSize = SplitRing.NetHeaderSize;
    public const int HashSize = 20;
    public const int HashValueOffset = 12;
    public const int HashReportOffset = 16;

    /// <summary>The header size a driver and device use with <paramref name="negotiated"/> (net.hdr.drv.size-calc).</summary>
    public static int SizeFor(FeatureSet negotiated) => negotiated.Has(FeatureBit.NetHashReport) ? HashSize : BaseSize;
}
