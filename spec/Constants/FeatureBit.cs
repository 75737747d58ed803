namespace VirtioMq.Spec;

/// <summary>
/// Feature bit numbers used by the multiqueue rules: the device-independent ones (§6) and the
/// virtio-net ones (§5.1.3). Bit numbers, not masks: the net feature space goes past 64 bits.
/// </summary>
public enum FeatureBit
{
    NetCsum = 0,
    NetGuestCsum = 1,
    NetCtrlGuestOffloads = 2,
    NetMtu = 3,
    NetMac = 5,
    NetMrgRxbuf = 15,
    NetStatus = 16,
    NetCtrlVq = 17,
    NetCtrlRx = 18,
    NetCtrlVlan = 19,
    NetCtrlRxExtra = 20,
    NetGuestAnnounce = 21,
    NetMq = 22,
    NetCtrlMacAddr = 23,
    IndirectDesc = 28,
    EventIdx = 29,
    /// <summary>Unused by virtio; vhost-user reuses it as VHOST_USER_F_PROTOCOL_FEATURES.</summary>
    ProtocolFeatures = 30,
    Version1 = 32,
    AccessPlatform = 33,
    RingPacked = 34,
    InOrder = 35,
    RingReset = 40,
    Suspend = 43,
    NetNotfCoal = 53,
    NetVqNotfCoal = 52,
    NetHashReport = 57,
    NetRss = 60,
    NetRssContext = 64,
}
