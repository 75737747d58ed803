using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Reference.Net;

/// <summary>
/// The hashing state of a device (§5.1.9.4.3, §5.1.9.5.6.4, §5.1.9.5.7): the RSS configuration the last accepted
/// RSS_CONFIG set, or the hash parameters of HASH_CONFIG. Shared by the controlq, which changes it, and the data plane,
/// which steers and reports by it. A reset forgets it, as hashing starts disabled.
/// </summary>
public sealed class ReceiveScaling
{
    /// <summary>What this device's configuration space promises (§5.1.4.1: a key of 40 bytes or more, a table of 128 or more).</summary>
    public static readonly RssLimits DeviceLimits = new(MaxKeySize: 40, MaxIndirectionTableLength: 128, NetHashTypes.All, MaxPairs: 0);

    /// <summary>The RSS configuration steering frames now; null while automatic steering decides (§5.1.9.5.5: the last command wins).</summary>
    public RssConfig? Rss { get; private set; }

    /// <summary>HASH_CONFIG's parameters, for hash reporting without RSS.</summary>
    public HashConfig? Hash { get; private set; }

    public FeatureSet Negotiated { get; set; } = FeatureSet.Empty;

    public bool ReportsHash => Negotiated.Has(FeatureBit.NetHashReport);

    public void UseRss(RssConfig config)
    {
        Rss = config;
        SteersByRss = true;
    }

    public void UseHash(HashConfig config) => Hash = config;

    /// <summary>VQ_PAIRS_SET: automatic steering again. The RSS hash parameters stay what hash reporting uses.</summary>
    public void UseAutomaticSteering() => SteersByRss = false;

    /// <summary>Whether RSS picks the receiveq: true from RSS_CONFIG (so <see cref="Rss"/> is set), false after VQ_PAIRS_SET.</summary>
    public bool SteersByRss { get; private set; }

    public void Forget()
    {
        Rss = null;
        Hash = null;
        SteersByRss = false;
    }

    /// <summary>The hash types and key in force: RSS_CONFIG's when RSS was negotiated, else HASH_CONFIG's (§5.1.9.4.3).</summary>
    public (NetHashTypes Types, byte[] Key) Parameters =>
        Negotiated.Has(FeatureBit.NetRss) ? (Rss?.HashTypes ?? NetHashTypes.None, Rss?.Key ?? []) : (Hash?.HashTypes ?? NetHashTypes.None, Hash?.Key ?? []);
}
