using System.Buffers.Binary;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Reference.Net;

/// <summary>What the device shows a driver before negotiation: its feature bits and its configuration space.</summary>
public interface IDeviceOffer
{
    /// <summary>The feature bits offered; <paramref name="multiqueue"/> false for a single-queue device.</summary>
    FeatureSet Features(bool multiqueue);

    /// <summary>The max_virtqueue_pairs field of the configuration space (§5.1.4) for a device of <paramref name="maxPairs"/>.</summary>
    ushort MaxVirtqueuePairs(int maxPairs);

    /// <summary>Writes rss_max_key_size, rss_max_indirection_table_length and supported_hash_types (§5.1.4) into <paramref name="config"/>.</summary>
    void WriteHashLimits(Span<byte> config, RssLimits limits);
}

/// <summary>
/// A multiqueue device with a controlq: VQ_PAIRS_SET needs it (§5.1.3.1), and max_virtqueue_pairs says how many pairs there
/// are. It also offers what the multiqueue chapter added in 1.2: RSS, hash reporting and per-virtqueue reset; and both
/// ring formats, split and packed (VIRTIO_F_RING_PACKED, §2.8).
/// </summary>
public sealed class NetDeviceOffer : IDeviceOffer
{
    public static NetDeviceOffer Instance { get; } = new();

    public FeatureSet Features(bool multiqueue)
    {
        var all = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetMac, FeatureBit.NetStatus, FeatureBit.NetCtrlVq,
            FeatureBit.NetMq, FeatureBit.EventIdx, FeatureBit.IndirectDesc, FeatureBit.NetRss, FeatureBit.NetHashReport, FeatureBit.RingReset,
            FeatureBit.RingPacked, FeatureBit.InOrder);
        // A single-queue device has nothing to steer; hash reporting and queue reset still make sense for it.
        return multiqueue ? all : all.Without(FeatureBit.NetMq).Without(FeatureBit.NetRss);
    }

    public ushort MaxVirtqueuePairs(int maxPairs) => (ushort)maxPairs;

    public void WriteHashLimits(Span<byte> config, RssLimits limits)
    {
        config[NetConfig.RssMaxKeySizeOffset] = (byte)limits.MaxKeySize;
        BinaryPrimitives.WriteUInt16LittleEndian(config[NetConfig.RssMaxIndirectionTableLengthOffset..], (ushort)limits.MaxIndirectionTableLength);
        BinaryPrimitives.WriteUInt32LittleEndian(config[NetConfig.SupportedHashTypesOffset..], (uint)limits.SupportedHashTypes);
    }
}
