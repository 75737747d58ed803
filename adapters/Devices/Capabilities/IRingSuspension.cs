namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>
/// Stopping a data ring and resuming it at a given index, as a front-end does around migration: vhost-user's
/// GET_VRING_BASE and SET_VRING_BASE. The in-flight queue state lives in the back-end while the ring is stopped.
/// </summary>
public interface IRingSuspension
{
    /// <summary>Stops data virtqueue <paramref name="vq"/>; returns where the device says it would resume, or null if it was not running.</summary>
    ushort? Stop(int vq);

    /// <summary>
    /// Starts a ring <see cref="Stop"/> stopped from <paramref name="nextAvail"/>, and kicks it. With
    /// <paramref name="restateEnable"/> its enable state is sent again first, as QEMU does when it restarts vhost.
    /// </summary>
    void Resume(int vq, ushort nextAvail, bool restateEnable = true);
}
