using VirtioMq.Spec.Rss;

namespace VirtioMq.Spec;

/// <summary>The model's receive-side scaling and hash reporting state (§5.1.9.4.3, §5.1.9.5.6.4, §5.1.9.5.7).</summary>
public sealed partial record MqDeviceModel
{
    /// <summary>The RSS configuration of the last accepted RSS_CONFIG; gone after a reset.</summary>
    public RssConfig? Rss { get; init; }

    /// <summary>Whether RSS steers now: an accepted RSS_CONFIG was the last multiqueue command (§5.1.9.5.5).</summary>
    public bool RssSteers { get; init; }

    /// <summary>The hash parameters of an accepted HASH_CONFIG (hash reporting without RSS); gone after a reset.</summary>
    public HashConfig? Hash { get; init; }

    public bool RssNegotiated => Negotiated.Has(FeatureBit.NetRss);
    public bool HashReportNegotiated => Negotiated.Has(FeatureBit.NetHashReport);

    /// <summary>
    /// RSS_CONFIG: a valid configuration is taken and, as VQ_PAIRS_SET does, puts max_tx_vq pairs in use (what Linux relies
    /// on and QEMU does; net.rss.def.max-tx-vq-effect); anything else is refused and changes nothing.
    /// </summary>
    public (MqDeviceModel Next, NetAck Ack) RssConfigure(RssConfig config, RssLimits limits)
    {
        if (!Live || !RssNegotiated || limits.Problems(config).Count > 0) return (this, NetAck.Err);
        return (this with { Rss = config, RssSteers = true, CurrentPairs = config.MaxTxVq, PairsSetSinceReset = true }, NetAck.Ok);
    }

    /// <summary>HASH_CONFIG with HASH_REPORT and without RSS: a valid one sets the hash types and key reported by.</summary>
    public (MqDeviceModel Next, NetAck Ack) HashConfigure(HashConfig config, RssLimits limits)
    {
        if (!Live || !HashReportNegotiated || RssNegotiated || limits.Problems(config).Count > 0) return (this, NetAck.Err);
        return (this with { Hash = config }, NetAck.Ok);
    }

    /// <summary>
    /// The hash types and key in force (§5.1.9.4.3): RSS_CONFIG's when RSS was negotiated, else HASH_CONFIG's; none until
    /// the driver sends one, as hashing starts disabled (net.hash.def.initially-disabled).
    /// </summary>
    public (NetHashTypes Types, byte[] Key) HashParameters =>
        RssNegotiated ? (Rss?.HashTypes ?? NetHashTypes.None, Rss?.Key ?? []) : (Hash?.HashTypes ?? NetHashTypes.None, Hash?.Key ?? []);

    /// <summary>What the device may report for <paramref name="frame"/> (null: the spec leaves it open, nothing judged).</summary>
    /// <remarks>
    /// After VQ_PAIRS_SET replaced RSS steering, whether the RSS hash parameters still apply to reporting the spec does not
    /// say (it names RSS_CONFIG's as the source whenever RSS was negotiated; QEMU stops hashing): both answers pass.
    /// </remarks>
    public IReadOnlyList<HashOutcome>? ExpectedHash(ReadOnlySpan<byte> frame)
    {
        var (types, key) = HashParameters;
        if (types == NetHashTypes.None) return [HashOutcome.NotHashed];
        var outcomes = PacketHash.Outcomes(frame, types, key);
        if (outcomes is null || !RssNegotiated || RssSteers || outcomes.Contains(HashOutcome.NotHashed)) return outcomes;
        return [.. outcomes, HashOutcome.NotHashed];
    }

    /// <summary>The receive pairs RSS may deliver <paramref name="frame"/> on; null without RSS in force or when the spec leaves it open.</summary>
    public IReadOnlySet<int>? ExpectedRssPairs(ReadOnlySpan<byte> frame)
    {
        if (Rss is not { } rss || !RssSteers) return null;
        return PacketHash.Outcomes(frame, rss.HashTypes, rss.Key) is { } outcomes ? outcomes.Select(rss.PairFor).ToHashSet() : null;
    }
}
