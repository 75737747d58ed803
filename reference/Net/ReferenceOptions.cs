namespace VirtioMq.Reference.Net;

/// <summary>How a reference device is built: its max_virtqueue_pairs and any bugs to reproduce.</summary>
public sealed record ReferenceOptions(int MaxPairs = 8, IReadOnlySet<DeviceFault>? Faults = null, int QueueMaxSize = 256)
{
    public IReadOnlySet<DeviceFault> FaultSet => Faults ?? new HashSet<DeviceFault>();
    public bool Has(DeviceFault f) => FaultSet.Contains(f);

    /// <summary>
    /// Back-end only, and no bug: SET_VRING_ADDR checks that each part of the ring lies whole inside one memory region
    /// and refuses the request (a non-zero REPLY_ACK) when one does not, as QEMU's virtio core checks at set-up. Without
    /// it the back-end accepts the addresses and refuses the ring when a kick starts it. Both answers are careful
    /// (robust.ring.queue-outside-memory-refused); the suite must accept either.
    /// </summary>
    public bool CheckRingAddresses { get; init; }
}
