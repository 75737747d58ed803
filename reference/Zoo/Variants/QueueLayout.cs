using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Spec;

namespace VirtioMq.Reference.Zoo;

/// <summary>cvq-at-2: with more than one pair the controlq is still taken to be vq 2, not vq 2N.</summary>
public sealed class CvqAt2() : ZooDeviation(DeviceFault.CvqAt2)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Roles = new Roles(seams.Roles) };

    private sealed class Roles(IQueueRoles inner) : QueueRolesDecorator(inner)
    {
        public override QueueRole RoleOf(int vq, NetQueueLayout layout, FeatureSet negotiated)
        {
            if (layout.ControlqIndex.HasValue && layout.DataPairs > 1)
            {
                if (vq == 2) return QueueRole.Control;
                if (vq == layout.ControlqIndex) return QueueRole.None;
            }
            return base.RoleOf(vq, layout, negotiated);
        }
    }
}

/// <summary>cvq-missing-without-mq: CTRL_VQ without MQ leaves the device two queues and no controlq at vq 2.</summary>
public sealed class CvqMissingWithoutMq() : ZooDeviation(DeviceFault.CvqMissingWithoutMq)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Roles = new Roles(seams.Roles) };

    private sealed class Roles(IQueueRoles inner) : QueueRolesDecorator(inner)
    {
        public override QueueRole RoleOf(int vq, NetQueueLayout layout, FeatureSet negotiated) =>
            vq == 2 && layout.ControlqIndex == 2 && !negotiated.Has(FeatureBit.NetMq) ? QueueRole.None : base.RoleOf(vq, layout, negotiated);
    }
}

/// <summary>cvq-role-survives-reset: the controlq index found at the first negotiation is kept whatever is negotiated next.</summary>
public sealed class CvqRoleSurvivesReset() : ZooDeviation(DeviceFault.CvqRoleSurvivesReset)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Roles = new Roles(seams.Roles) };

    private sealed class Roles(IQueueRoles inner) : QueueRolesDecorator(inner)
    {
        // Roles are first asked for when the device starts, so this is the controlq of the first negotiation.
        private int? _first;

        public override QueueRole RoleOf(int vq, NetQueueLayout layout, FeatureSet negotiated)
        {
            _first ??= layout.ControlqIndex;
            if (_first is { } kept)
            {
                if (vq == kept) return QueueRole.Control;
                if (vq == layout.ControlqIndex) return QueueRole.None;
            }
            return base.RoleOf(vq, layout, negotiated);
        }
    }
}

/// <summary>swap-rx-tx: the queues numbered from the wrong end of the pair: even indices transmit, odd ones receive.</summary>
public sealed class SwapRxTx() : ZooDeviation(DeviceFault.SwapRxTx)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Roles = new Roles(seams.Roles) };

    private sealed class Roles(IQueueRoles inner) : QueueRolesDecorator(inner)
    {
        public override bool IsReceiveq(int vq) => !base.IsReceiveq(vq);
        public override int Receiveq(int pair) => NetQueueLayout.Transmitq(pair);
    }
}
