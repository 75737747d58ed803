namespace VirtioMq.Reference.Virtqueues;

/// <summary>
/// How the device reads a ring's available side, split (§2.7.6) or packed (§2.8.1), and what it does with a chain it
/// refuses. The bug zoo plugs its ring faults in here.
/// </summary>
public interface IRingRules
{
    /// <summary>Whether the device takes buffers from <paramref name="ring"/> at all.</summary>
    bool Serves(IDeviceVirtqueue ring);

    /// <summary>Split: whether the driver's <paramref name="availIdx"/> shows no buffer past <paramref name="lastAvailIdx"/>.</summary>
    bool IsEmpty(ushort availIdx, ushort lastAvailIdx);

    /// <summary>Packed: whether a descriptor with <paramref name="flags"/> is available to a device whose avail wrap counter is <paramref name="wrap"/>.</summary>
    bool IsAvailable(ushort flags, bool wrap);

    /// <summary>What becomes of <paramref name="chain"/>, which <paramref name="ring"/> just took and refused.</summary>
    void Refused(IDeviceVirtqueue ring, ChainHandle chain);
}

/// <summary>
/// The rings as the spec has them. Split (§2.7): the indices run free and are compared modulo 65536. Packed (§2.8.1): a
/// descriptor is available when its AVAIL bit equals the device's wrap counter and its USED bit does not. Either way a
/// refused chain is returned used with length 0, so one bad buffer never stalls the queue.
/// </summary>
public sealed class RingRules : IRingRules
{
    public static RingRules Instance { get; } = new();

    public bool Serves(IDeviceVirtqueue ring) => true;

    public bool IsEmpty(ushort availIdx, ushort lastAvailIdx) => availIdx == lastAvailIdx;

    public bool IsAvailable(ushort flags, bool wrap) => Spec.PackedRing.IsAvailable(flags, wrap);

    public void Refused(IDeviceVirtqueue ring, ChainHandle chain) => ring.ReturnRefused(chain);
}
