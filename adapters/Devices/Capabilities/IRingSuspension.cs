namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>
/// Stopping a data ring and resuming it at a given place, as a front-end does around migration: vhost-user's
/// GET_VRING_BASE and SET_VRING_BASE. The in-flight queue state lives in the back-end while the ring is stopped.
/// </summary>
/// <remarks>
/// <see cref="Stop"/> and <see cref="Resume"/> speak of a split ring's next avail index and refuse a packed ring;
/// <see cref="StopBase"/> and <see cref="ResumeBase"/> carry the vring base in its format-neutral 32-bit form, which
/// for a packed ring holds both positions and wrap counters (<c>PackedVringBase</c>).
/// </remarks>
public interface IRingSuspension
{
    /// <summary>Stops split data virtqueue <paramref name="vq"/>; returns where the device says it would resume, or null if it was not running.</summary>
    /// <exception cref="InvalidOperationException">The rings are packed: use <see cref="StopBase"/>.</exception>
    ushort? Stop(int vq);

    /// <summary>
    /// Starts a split ring <see cref="Stop"/> stopped from <paramref name="nextAvail"/>, and kicks it. With
    /// <paramref name="restateEnable"/> its enable state is sent again first, as QEMU does when it restarts vhost.
    /// </summary>
    /// <exception cref="InvalidOperationException">The rings are packed: use <see cref="ResumeBase"/>.</exception>
    void Resume(int vq, ushort nextAvail, bool restateEnable = true);

    /// <summary>
    /// Stops data virtqueue <paramref name="vq"/> in either format; returns the vring base the device answered (a split
    /// ring's next avail index, or a packed ring's <c>PackedVringBase</c> encoded), or null if it was not running.
    /// </summary>
    uint? StopBase(int vq);

    /// <summary>Starts a ring <see cref="StopBase"/> stopped from <paramref name="vringBase"/> in either format, and kicks it.</summary>
    void ResumeBase(int vq, uint vringBase, bool restateEnable = true);
}
