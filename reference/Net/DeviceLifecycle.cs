using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>The steps of a device reset, in the order a healthy device takes them.</summary>
public interface IResetSteps
{
    /// <summary>Stops using every virtqueue and forgets its registers (§2.4).</summary>
    void ForgetRings();

    /// <summary>Takes the multiqueue state back to its initial value: one pair in use, no flows, rings disabled (§5.1.6.5.5).</summary>
    void ForgetMultiqueueState();
}

/// <summary>What the device does with a kick.</summary>
public interface IKickSteps
{
    /// <summary>Starts using virtqueue <paramref name="vq"/> now, if the driver set it up and it is not in use yet.</summary>
    void StartIfSetUp(int vq);

    /// <summary>Serves virtqueue <paramref name="vq"/>: takes its available buffers.</summary>
    void Serve(int vq);
}

/// <summary>When the device works its queues, and what a reset forgets.</summary>
public interface IDeviceLifecycle
{
    /// <summary>The driver's available buffer notification for virtqueue <paramref name="vq"/>, with the device in <paramref name="status"/>.</summary>
    void Kick(int vq, DeviceStatus status, IKickSteps device);

    /// <summary>The driver wrote 0 to the status (§2.4).</summary>
    void Reset(IResetSteps device);

    /// <summary>The driver set DRIVER_OK and the device went live.</summary>
    void Started();

    /// <summary>The driver reset virtqueue <paramref name="vq"/> (§2.6.1); <paramref name="stop"/> stops the device using it.</summary>
    void ResetQueue(int vq, Action<int> stop);
}

/// <summary>The lifecycle of §2.1.2 and §2.4: queues are worked only while the device is live, and a reset forgets everything.</summary>
public sealed class DeviceLifecycle : IDeviceLifecycle
{
    public static DeviceLifecycle Instance { get; } = new();

    public void Kick(int vq, DeviceStatus status, IKickSteps device)
    {
        // §2.1.2: nothing before DRIVER_OK; §2.4.1: nothing after reset. Rings start only at DRIVER_OK and are
        // forgotten at reset, so a live device has every ring the driver set up in use already.
        // Stryker disable once all : equivalent: rings start only at DRIVER_OK and are forgotten at reset, so a kick outside that finds nothing to serve; after DEVICE_NEEDS_RESET the spec leaves open whether the other queues go on
        var live = (status & DeviceStatus.DriverOk) != 0 && (status & DeviceStatus.DeviceNeedsReset) == 0;
        if (live) device.Serve(vq);
    }

    public void Reset(IResetSteps device)
    {
        device.ForgetRings();
        device.ForgetMultiqueueState();
    }

    // Nothing to remember: a healthy device works each start out afresh from what was negotiated.
    public void Started() { }

    // §2.6.1.1.1: from the reset on the device neither executes requests from the queue nor notifies it.
    public void ResetQueue(int vq, Action<int> stop) => stop(vq);
}
