namespace VirtioMq.Spec;

/// <summary>Offsets of <c>struct virtio_net_config</c> (§5.1.4); little-endian for non-legacy devices.</summary>
public static class NetConfig
{
    public const int MacOffset = 0;
    public const int StatusOffset = 6;
    public const int MaxVirtqueuePairsOffset = 8;
    public const int MtuOffset = 10;
    public const int SpeedOffset = 12;
    public const int DuplexOffset = 16;
    public const int RssMaxKeySizeOffset = 17;
    public const int RssMaxIndirectionTableLengthOffset = 18;
    public const int SupportedHashTypesOffset = 20;
    public const int SupportedTunnelTypesOffset = 24;
    public const int Size = 28;

    public const ushort StatusLinkUp = 1;
    public const ushort StatusAnnounce = 2;
}

/// <summary>Sizes fixed by the split virtqueue format (§2.7).</summary>
public static class SplitRing
{
    public const int DescriptorSize = 16;
    public const int DescriptorAlign = 16;
    public const int AvailAlign = 2;
    public const int UsedAlign = 4;
    public const int UsedElemSize = 8;
    public const int MaxQueueSize = 32768;

    public const ushort DescFNext = 1;
    public const ushort DescFWrite = 2;
    public const ushort DescFIndirect = 4;
    public const ushort AvailFNoInterrupt = 1;
    public const ushort UsedFNoNotify = 1;

    public static int DescriptorTableBytes(int size) => DescriptorSize * size;
    /// <summary>flags, idx, ring[size], used_event.</summary>
    public static int AvailRingBytes(int size) => 6 + 2 * size;
    /// <summary>flags, idx, ring[size] of {id,len}, avail_event.</summary>
    public static int UsedRingBytes(int size) => 6 + UsedElemSize * size;
    public static int UsedEventOffset(int size) => 4 + 2 * size;
    public static int AvailEventOffset(int size) => 4 + UsedElemSize * size;

    /// <summary>The virtio-net header the driver and device use when VERSION_1 is negotiated without hash or tunnel fields (§5.1.9).</summary>
    public const int NetHeaderSize = 12;
}
