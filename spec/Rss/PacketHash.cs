namespace VirtioMq.Spec.Rss;

/// <summary>A hash a device computes for a packet and the type it reports; <see cref="NetHashReport.None"/> when it computes none.</summary>
public readonly record struct HashOutcome(NetHashReport Report, uint Value)
{
    public static readonly HashOutcome NotHashed = new(NetHashReport.None, 0);
    public bool Hashed => Report != NetHashReport.None;
    public override string ToString() => Hashed ? $"{Report} 0x{Value:x8}" : "no hash (NONE)";
}

/// <summary>
/// The oracle of §5.1.9.4.3: which fields of a packet a device hashes under the enabled hash types, and the Toeplitz
/// value and report type that come out. Written from the spec's text; checked against published known answers
/// (tests/Spec/ToeplitzKnownAnswerTests).
/// </summary>
public static class PacketHash
{
    /// <summary>
    /// Every outcome a conforming device may produce for <paramref name="frame"/>, the spec's plain reading first; null
    /// when the spec leaves the packet's treatment open (see <see cref="PacketHeaders.Read"/>), so nothing is judged.
    /// </summary>
    /// <remarks>
    /// One reading is added for IPv6 without extension headers: §5.1.9.4.3.3 names only the IPv6, TCPv6 and UDPv6 types
    /// for them, but the _EX types come from Microsoft's definition, whose "if the extension header is not present, use
    /// the source address" lets them apply to any IPv6 packet (QEMU does so). A device that hashes such a packet as _EX
    /// is not wrong.
    /// </remarks>
    public static IReadOnlyList<HashOutcome>? Outcomes(ReadOnlySpan<byte> frame, NetHashTypes enabled, ReadOnlySpan<byte> key)
    {
        var headers = PacketHeaders.Read(frame, out var unsure);
        if (unsure) return null;
        if (headers is null) return [HashOutcome.NotHashed];
        var plain = Outcome(headers, enabled, key, exTypesApply: headers.HasExtensionHeaders);
        if (headers.IpVersion == 4 || headers.HasExtensionHeaders) return [plain];
        var exReading = Outcome(headers, enabled, key, exTypesApply: true);
        return exReading == plain ? [plain] : [plain, exReading];
    }

    /// <summary>
    /// The plain reading for any frame, for a device that must pick one answer: what the spec leaves open is read the
    /// simplest way (a VLAN-tagged or truncated packet is hashed by what could be read, or not at all).
    /// </summary>
    public static HashOutcome PlainReading(ReadOnlySpan<byte> frame, NetHashTypes enabled, ReadOnlySpan<byte> key) =>
        PacketHeaders.Read(frame, out _) is { } headers ? Outcome(headers, enabled, key, exTypesApply: headers.HasExtensionHeaders) : HashOutcome.NotHashed;

    private static HashOutcome Outcome(PacketHeaders p, NetHashTypes on, ReadOnlySpan<byte> key, bool exTypesApply)
    {
        if (p.IpVersion == 4)
        {
            // §5.1.9.4.3.2: TCPv4 over ports, else UDPv4 over ports, else IPv4 over the addresses alone.
            if (p.L4 == L4Kind.Tcp && on.HasFlag(NetHashTypes.TcpV4)) return Hash(NetHashReport.TcpV4, key, p.Source, p.Destination, p.Ports);
            if (p.L4 == L4Kind.Udp && on.HasFlag(NetHashTypes.UdpV4)) return Hash(NetHashReport.UdpV4, key, p.Source, p.Destination, p.Ports);
            if (on.HasFlag(NetHashTypes.IPv4)) return Hash(NetHashReport.IPv4, key, p.Source, p.Destination, []);
            return HashOutcome.NotHashed;
        }
        if (exTypesApply)
        {
            // §5.1.9.4.3.4: the home address option replaces the source, the type 2 routing header's address the destination.
            var src = p.HomeAddress ?? p.Source;
            var dst = p.RoutingAddress ?? p.Destination;
            if (p.L4 == L4Kind.Tcp && on.HasFlag(NetHashTypes.TcpEx)) return Hash(NetHashReport.TcpV6Ex, key, src, dst, p.Ports);
            if (p.L4 == L4Kind.Udp && on.HasFlag(NetHashTypes.UdpEx)) return Hash(NetHashReport.UdpV6Ex, key, src, dst, p.Ports);
            if (on.HasFlag(NetHashTypes.IPEx)) return Hash(NetHashReport.IPv6Ex, key, src, dst, []);
            // ...else the extension headers are skipped and the packet hashed as one without them.
        }
        // §5.1.9.4.3.3.
        if (p.L4 == L4Kind.Tcp && on.HasFlag(NetHashTypes.TcpV6)) return Hash(NetHashReport.TcpV6, key, p.Source, p.Destination, p.Ports);
        if (p.L4 == L4Kind.Udp && on.HasFlag(NetHashTypes.UdpV6)) return Hash(NetHashReport.UdpV6, key, p.Source, p.Destination, p.Ports);
        if (on.HasFlag(NetHashTypes.IPv6)) return Hash(NetHashReport.IPv6, key, p.Source, p.Destination, []);
        return HashOutcome.NotHashed;
    }

    /// <summary>Toeplitz over source address, destination address, then source and destination port, all in network order.</summary>
    private static HashOutcome Hash(NetHashReport report, ReadOnlySpan<byte> key, byte[] src, byte[] dst, byte[] ports) =>
        new(report, Toeplitz.Hash(key, [.. src, .. dst, .. ports]));
}
