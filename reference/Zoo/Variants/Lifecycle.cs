using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Spec;

namespace VirtioMq.Reference.Zoo;

/// <summary>A lifecycle that serves kicks whatever the status, starting a ring the driver set up on its first kick.</summary>
public class ServesWhileNotLive(IDeviceLifecycle inner) : DeviceLifecycleDecorator(inner)
{
    public override void Kick(int vq, DeviceStatus status, IKickSteps device)
    {
        var live = (status & DeviceStatus.DriverOk) != 0 && (status & DeviceStatus.DeviceNeedsReset) == 0;
        if (live)
        {
            base.Kick(vq, status, device);
            return;
        }
        device.StartIfSetUp(vq);
        device.Serve(vq);
    }
}

/// <summary>consume-before-driver-ok: buffers are consumed on a kick before DRIVER_OK.</summary>
public sealed class ConsumeBeforeDriverOk() : ZooDeviation(DeviceFault.ConsumeBeforeDriverOk)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Lifecycle = new ServesWhileNotLive(seams.Lifecycle) };
}

/// <summary>reset-keeps-rings: a reset reads back 0, but the device forgets nothing and goes on serving its rings on later kicks.</summary>
public sealed class ResetKeepsRings() : ZooDeviation(DeviceFault.ResetKeepsRings)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Lifecycle = new Lifecycle(seams.Lifecycle) };

    private sealed class Lifecycle(IDeviceLifecycle inner) : ServesWhileNotLive(inner)
    {
        public override void Reset(IResetSteps device) { }
    }
}

/// <summary>reset-keeps-pairs: a reset forgets the rings but keeps the multiqueue state: pairs in use, enables, flows.</summary>
public sealed class ResetKeepsPairs() : ZooDeviation(DeviceFault.ResetKeepsPairs)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Lifecycle = new Lifecycle(seams.Lifecycle) };

    private sealed class Lifecycle(IDeviceLifecycle inner) : DeviceLifecycleDecorator(inner)
    {
        public override void Reset(IResetSteps device) => device.ForgetRings();
    }
}
