using VirtioMq.Spec;

namespace VirtioMq.Adapters.Driver;

/// <summary>How the suite's driver behaves: its patience and how much it posts.</summary>
public sealed record DriverOptions
{
    /// <summary>The longest any single wait may take before the driver gives up and says what it waited for.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Receive buffers kept posted on each receiveq in use.</summary>
    public int ReceiveBuffersPerQueue { get; init; } = 32;

    /// <summary>Queue size for the first pairs and the controlq, and for pairs beyond <see cref="RoomyPairs"/>.</summary>
    public int QueueSize { get; init; } = 64;
    public int SmallQueueSize { get; init; } = 4;
    public int RoomyPairs { get; init; } = 16;

    /// <summary>
    /// How many of the pairs set up get receive buffers at once: all of them up to this many (a device may steer a flow's
    /// first frame to any receiveq in use), the first <see cref="RoomyPairs"/> beyond it. 256 covers every real device the
    /// suite meets (a tap has at most 256 queues) without filling guest memory for a device of 32,768 pairs.
    /// </summary>
    public int BufferedPairs { get; init; } = 256;

    /// <summary>
    /// The avail and used idx the receiveqs and transmitqs this driver sets up start at. 0 is a ring after reset; a
    /// vhost-user front-end may hand a back-end rings at any index (SET_VRING_BASE, as after migration), which is how a
    /// check reaches the 16-bit wrap without 65,536 buffers. A virtio device restarts its rings at 0, so only vhost-user
    /// checks set it.
    /// </summary>
    public ushort DataRingStartIndex { get; init; }

    /// <summary>
    /// The same for the controlq, apart so that a check of one ring kind's wrap leaves the others at 0: over vhost-user
    /// the controlq is the suite's own front-end, and a data ring stalled at the wrap must not be blamed on it.
    /// </summary>
    public ushort ControlqStartIndex { get; init; }

    /// <summary>
    /// The virtqueue format the driver negotiates: split always works; packed adds VIRTIO_F_RING_PACKED to the features
    /// whenever the device offers it (see <see cref="NetDriver.AcceptFeatures"/>).
    /// </summary>
    public RingFormat Ring { get; init; } = RingFormat.Split;

    /// <summary>
    /// On packed rings, write each buffer's ID only in its list's last descriptor, as §2.8.6 places it, and an ID no buffer
    /// has in the others. Off, the driver writes it in every descriptor, as Linux does, which spares a device that reads
    /// the first one.
    /// </summary>
    public bool PackedBufferIdInLastOnly { get; init; }

    /// <summary>
    /// Accept VIRTIO_F_IN_ORDER when the device offers it: descriptors then go in ring order, and the device may return a
    /// batch of buffers with one used entry (§2.7.9, §2.8.8). Off by default, as in Linux's driver before 6.17: the checks
    /// of the other rules leave the device free to use buffers in any order.
    /// </summary>
    public bool InOrder { get; init; }

    /// <summary>Receive buffer size: a 12-byte header and a 1514-byte frame (§5.1.9.3).</summary>
    public int ReceiveBufferBytes { get; init; } = 1526;
}
