using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>What the device shows a driver before negotiation: its feature bits and its configuration space.</summary>
public interface IDeviceOffer
{
    /// <summary>The feature bits offered; <paramref name="multiqueue"/> false for a single-queue device.</summary>
    FeatureSet Features(bool multiqueue);

    /// <summary>The max_virtqueue_pairs field of the configuration space (§5.1.4) for a device of <paramref name="maxPairs"/>.</summary>
    ushort MaxVirtqueuePairs(int maxPairs);
}

/// <summary>A multiqueue device with a controlq: VQ_PAIRS_SET needs it (§5.1.3.1), and max_virtqueue_pairs says how many pairs there are.</summary>
public sealed class NetDeviceOffer : IDeviceOffer
{
    public static NetDeviceOffer Instance { get; } = new();

    public FeatureSet Features(bool multiqueue)
    {
        var all = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetMac, FeatureBit.NetStatus, FeatureBit.NetCtrlVq,
            FeatureBit.NetMq, FeatureBit.EventIdx, FeatureBit.IndirectDesc);
        return multiqueue ? all : all.Without(FeatureBit.NetMq);
    }

    public ushort MaxVirtqueuePairs(int maxPairs) => (ushort)maxPairs;
}
