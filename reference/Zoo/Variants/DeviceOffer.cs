using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;

namespace VirtioMq.Reference.Zoo;

/// <summary>mq-without-ctrl-vq: MQ is offered without the CTRL_VQ it depends on.</summary>
public sealed class MqWithoutCtrlVq() : ZooDeviation(DeviceFault.MqWithoutCtrlVq)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Offer = new Offer(seams.Offer) };

    private sealed class Offer(IDeviceOffer inner) : DeviceOfferDecorator(inner)
    {
        public override FeatureSet Features(bool multiqueue) => base.Features(multiqueue).Without(FeatureBit.NetCtrlVq);
    }
}

/// <summary>max-pairs-0: max_virtqueue_pairs reads 0 in config space, and a back-end answers GET_QUEUE_NUM with 0.</summary>
public sealed class MaxPairsZero() : ZooDeviation(DeviceFault.MaxPairsZero)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) =>
        seams with { Offer = new Offer(seams.Offer), VhostUser = new Rules(seams.VhostUser) };

    private sealed class Offer(IDeviceOffer inner) : DeviceOfferDecorator(inner)
    {
        public override ushort MaxVirtqueuePairs(int maxPairs) => 0;
    }

    private sealed class Rules(IVhostUserRules inner) : VhostUserRulesDecorator(inner)
    {
        public override ulong QueueNum(int servedPairs) => 0;
    }
}
