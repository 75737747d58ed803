namespace VirtioMq.Spec;

/// <summary>
/// Sizes and flags fixed by the packed virtqueue format (§2.8 in virtio 1.2 to 1.4, §2.7 in 1.1). A packed ring is one
/// array of 16-byte descriptors (addr, len, id, flags) that the driver and the device both write, plus two 4-byte event
/// suppression structures: the driver's (in the driver area, read by the device: it governs used buffer notifications)
/// and the device's (in the device area, read by the driver: it governs available buffer notifications).
/// </summary>
public static class PackedRing
{
    public const int DescriptorSize = 16;
    public const int DescriptorAlign = 16;
    public const int EventSuppressionSize = 4;
    public const int EventSuppressionAlign = 4;

    /// <summary>Queue Size is at most 2^15 and, unlike the split format, need not be a power of two (§2.8.10.1 in 1.2).</summary>
    public const int MaxQueueSize = 32768;

    public const int AddrOffset = 0;
    public const int LenOffset = 8;
    public const int IdOffset = 12;
    public const int FlagsOffset = 14;

    public const ushort DescFNext = 1;
    public const ushort DescFWrite = 2;
    public const ushort DescFIndirect = 4;

    /// <summary>The driver sets AVAIL to its wrap counter and USED to the inverse when it makes a descriptor available.</summary>
    public const ushort DescFAvail = 1 << 7;

    /// <summary>The device sets both AVAIL and USED to its used wrap counter when it marks a descriptor used.</summary>
    public const ushort DescFUsed = 1 << 15;

    /// <summary>Offsets inside <c>struct pvirtq_event_suppress</c>: desc_event_off_wrap, then desc_event_flags.</summary>
    public const int EventOffWrapOffset = 0;
    public const int EventFlagsOffset = 2;

    /// <summary>desc_event_flags: notify on every event.</summary>
    public const ushort EventFlagsEnable = 0;

    /// <summary>desc_event_flags: do not notify.</summary>
    public const ushort EventFlagsDisable = 1;

    /// <summary>desc_event_flags: notify once the descriptor named by desc_event_off_wrap is reached (needs VIRTIO_F_EVENT_IDX).</summary>
    public const ushort EventFlagsDesc = 2;

    /// <summary>The two bits of desc_event_flags that carry a mode; the other 14 are reserved.</summary>
    public const ushort EventFlagsMask = 3;

    /// <summary>desc_event_off_wrap: bits 0-14 a descriptor offset, bit 15 the wrap counter it belongs to.</summary>
    public const ushort OffWrapWrapBit = 1 << 15;

    public static int DescriptorRingBytes(int size) => DescriptorSize * size;

    /// <summary>Whether a descriptor's flags show it available to a device whose avail wrap counter is <paramref name="wrap"/> (§2.8.1).</summary>
    public static bool IsAvailable(ushort flags, bool wrap) =>
        ((flags & DescFAvail) != 0) == wrap && ((flags & DescFUsed) != 0) != wrap;

    /// <summary>Whether a descriptor's flags show it used by a device whose used wrap counter was <paramref name="wrap"/> (§2.8.1).</summary>
    public static bool IsUsed(ushort flags, bool wrap) =>
        ((flags & DescFAvail) != 0) == wrap && ((flags & DescFUsed) != 0) == wrap;

    /// <summary>The AVAIL/USED bits a driver writes to make a descriptor available in wrap <paramref name="wrap"/>.</summary>
    public static ushort AvailFlags(bool wrap) => wrap ? DescFAvail : DescFUsed;

    /// <summary>The AVAIL/USED bits a device writes to mark a descriptor used in wrap <paramref name="wrap"/>.</summary>
    public static ushort UsedFlags(bool wrap) => wrap ? (ushort)(DescFAvail | DescFUsed) : (ushort)0;

    /// <summary>desc_event_off_wrap for descriptor <paramref name="offset"/> of wrap <paramref name="wrap"/>.</summary>
    public static ushort OffWrap(int offset, bool wrap) => (ushort)((offset & 0x7fff) | (wrap ? OffWrapWrapBit : 0));

    /// <summary>
    /// Whether an event suppression structure in DESC mode asks for a notification now (§2.8.10, the packed form of
    /// §2.7.10's rule): the events run from <paramref name="old"/> (exclusive) to <paramref name="now"/> (inclusive), both
    /// positions of the ring in the same numbering as <paramref name="offWrap"/>; positions are counted on a 2×size
    /// circle so that the wrap bit tells which lap an offset belongs to.
    /// </summary>
    /// <param name="old">The ring position (0..size-1) and wrap counter right after the last event notified.</param>
    /// <param name="now">The ring position and wrap counter right after the newest event.</param>
    public static bool EventReached(ushort offWrap, int size, (int Pos, bool Wrap) old, (int Pos, bool Wrap) now)
    {
        var lap = 2 * size;
        int Abs((int Pos, bool Wrap) p) => p.Pos + (p.Wrap ? size : 0);
        var target = Abs(((offWrap & 0x7fff) % size, (offWrap & OffWrapWrapBit) != 0));
        var from = Abs(old);
        var to = Abs(now);
        var span = ((to - from) % lap + lap) % lap;
        // The event descriptor is reached when it lies in (old - 1, now - 1]: the entry just before "now" is the newest.
        var distance = ((target - from) % lap + lap) % lap;
        return span > 0 && distance < span;
    }
}
