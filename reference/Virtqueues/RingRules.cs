namespace VirtioMq.Reference.Virtqueues;

/// <summary>How the device reads a split ring's available side (§2.7.6) and what it does with a chain it refuses.</summary>
public interface IRingRules
{
    /// <summary>Whether the device takes buffers from <paramref name="ring"/> at all.</summary>
    bool Serves(DeviceVirtqueue ring);

    /// <summary>Whether the driver's <paramref name="availIdx"/> shows no buffer past <paramref name="lastAvailIdx"/>.</summary>
    bool IsEmpty(ushort availIdx, ushort lastAvailIdx);

    /// <summary>What becomes of the chain at <paramref name="head"/>, which <paramref name="ring"/> just took and refused.</summary>
    void Refused(DeviceVirtqueue ring, ushort head);
}

/// <summary>
/// The split ring as §2.7 has it: the indices run free and are compared modulo 65536, and a refused chain is
/// returned used with length 0, so one bad buffer never stalls the queue.
/// </summary>
public sealed class SplitRingRules : IRingRules
{
    public static SplitRingRules Instance { get; } = new();

    public bool Serves(DeviceVirtqueue ring) => true;

    public bool IsEmpty(ushort availIdx, ushort lastAvailIdx) => availIdx == lastAvailIdx;

    // Returned used with length 0, so the ring goes on past it; a head outside the table names no buffer to return.
    public void Refused(DeviceVirtqueue ring, ushort head)
    {
        if (head < ring.Size) ring.PushUsed(head, 0);
    }
}
