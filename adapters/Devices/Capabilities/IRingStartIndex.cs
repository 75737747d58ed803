namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>
/// The transport lets the driver start a data ring at any place instead of the start after a reset (vhost-user's
/// SET_VRING_BASE), so a check can take a split ring across 65535 → 0 in a few buffers instead of 65,536, or start a
/// packed ring in any lap.
/// </summary>
/// <remarks>
/// A split ring's driver writes the index it starts at into avail idx and used idx, and the transport reads it there,
/// as a device would. Nothing in a packed ring's memory says where it starts, so its driver announces the place with
/// <see cref="StartAt"/> before it sets the queue up.
/// </remarks>
public interface IRingStartIndex
{
    /// <summary>
    /// Starts data virtqueue <paramref name="vq"/> at <paramref name="vringBase"/> the next time it is set up, instead
    /// of the format's start, in the format-neutral form of vhost-user's vring base: the next avail index for a split
    /// ring (where it overrides the used idx the ring holds), a <c>PackedVringBase</c> for a packed one. A reset forgets it.
    /// </summary>
    void StartAt(int vq, uint vringBase);
}
