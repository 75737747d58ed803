namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// Bit numbers in the GET/SET_PROTOCOL_FEATURES word (constants.md §11), plus the one virtio feature bit that
/// vhost-user borrows to say protocol features exist at all.
/// </summary>
public static class VhostUserProtocolFeature
{
    public const int Mq = 0;
    public const int LogShmfd = 1;
    public const int Rarp = 2;
    public const int ReplyAck = 3;
    /// <summary>The NET_SET_MTU text calls it F_NET_MTU; same bit.</summary>
    public const int Mtu = 4;
    public const int BackendReq = 5;
    public const int CrossEndian = 6;
    public const int CryptoSession = 7;
    public const int Pagefault = 8;
    public const int Config = 9;
    public const int BackendSendFd = 10;
    public const int HostNotifier = 11;
    public const int InflightShmfd = 12;
    public const int ResetDevice = 13;
    public const int InbandNotifications = 14;
    public const int ConfigureMemSlots = 15;
    public const int Status = 16;
    public const int XenMmap = 17;
    public const int SharedObject = 18;
    public const int DeviceState = 19;

    /// <summary>
    /// VHOST_USER_F_PROTOCOL_FEATURES, a bit of the *virtio* feature word from GET_FEATURES. It is a transport bit:
    /// a front-end must strip it before offering features to a virtio driver.
    /// </summary>
    public const int ProtocolFeaturesBit = 30;

    public static ulong Mask(int bit) => 1UL << bit;

    public static bool Has(ulong features, int bit) => (features & Mask(bit)) != 0;
}
