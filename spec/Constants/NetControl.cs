namespace VirtioMq.Spec;

/// <summary>Control virtqueue classes, commands and acks of virtio-net (§5.1.9.5).</summary>
public static class NetControl
{
    public const byte ClassRx = 0;
    public const byte ClassMac = 1;
    public const byte ClassVlan = 2;
    public const byte ClassAnnounce = 3;
    public const byte ClassMq = 4;
    public const byte ClassGuestOffloads = 5;
    public const byte ClassNotfCoal = 6;

    public const byte MqVqPairsSet = 0;
    public const byte MqRssConfig = 1;
    public const byte MqHashConfig = 2;

    /// <summary>Smallest and largest virtqueue_pairs a VQ_PAIRS_SET may carry (§5.1.9.5.6).</summary>
    public const int VqPairsMin = 1;
    public const int VqPairsMax = 0x8000;

    /// <summary>Size of the class + command header that starts every command.</summary>
    public const int HeaderSize = 2;
}

/// <summary>The ack byte a device writes back for a control command.</summary>
public enum NetAck : byte
{
    Ok = 0,
    Err = 1,
}
