using VirtioMq.Reference.Seams;

namespace VirtioMq.Reference.Net;

/// <summary>How a reference device is built: its max_virtqueue_pairs and any deviations from the healthy device.</summary>
/// <param name="Deviations">Parts plugged into the device's seams (the bug zoo's variants); none for a healthy device.</param>
/// <param name="Multiqueue">False for a single-queue device: VIRTIO_NET_F_MQ is not offered (not a bug: what the suite
/// must tell apart from a multiqueue device, with a verdict that says there is no multiqueue to certify).</param>
public sealed record ReferenceOptions(int MaxPairs = 8, IReadOnlyList<Deviation>? Deviations = null, int QueueMaxSize = 256, bool Multiqueue = true)
{
    /// <summary>
    /// How late the vhost-user back-end serves each kick: a slow device (an overloaded host, a device behind a slow
    /// link), not a wrong one. Zero by default. For showing the suite makes no false finding on a device that is slow.
    /// </summary>
    public TimeSpan KickDelay { get; init; }

    public IReadOnlyList<Deviation> DeviationList => Deviations ?? [];

    /// <summary>
    /// Back-end only, and no bug: SET_VRING_ADDR checks that each part of the ring lies whole inside one memory region
    /// and refuses the request (a non-zero REPLY_ACK) when one does not, as QEMU's virtio core checks at set-up. Without
    /// it the back-end accepts the addresses and refuses the ring when a kick starts it. Both answers are careful
    /// (robust.ring.queue-outside-memory-refused); the suite must accept either.
    /// </summary>
    public bool CheckRingAddresses { get; init; }

    /// <summary>
    /// Vhost-user back-end only: how many threads serve the rings (`serve --workers`). 1, the default, is one thread per
    /// session for messages and rings alike. More gives the rings that many threads of their own, pair p's two rings to
    /// thread (p - 1) mod N, and leaves messages to the session's thread; 0 means one thread per queue pair. Not a
    /// behaviour: the same device, on more cores.
    /// </summary>
    public int Workers { get; init; } = 1;

    /// <summary>The ring threads <see cref="Workers"/> asks for, never more than there are pairs.</summary>
    public int RingThreads => Workers <= 0 ? MaxPairs : Math.Min(Workers, MaxPairs);
}
