namespace VirtioMq.Adapters.Pci;

/// <summary>Register offsets of struct virtio_pci_common_cfg (§4.1.4.3), and the value that means "no MSI-X vector".</summary>
public static class CommonConfig
{
    public const int DeviceFeatureSelect = 0x00; // le32
    public const int DeviceFeature = 0x04;       // le32, read-only
    public const int DriverFeatureSelect = 0x08; // le32
    public const int DriverFeature = 0x0c;       // le32
    public const int ConfigMsixVector = 0x10;    // le16
    public const int NumQueues = 0x12;           // le16, read-only
    public const int DeviceStatus = 0x14;        // u8
    public const int ConfigGeneration = 0x15;    // u8, read-only
    public const int QueueSelect = 0x16;         // le16
    public const int QueueSize = 0x18;           // le16
    public const int QueueMsixVector = 0x1a;     // le16
    public const int QueueEnable = 0x1c;         // le16
    public const int QueueNotifyOff = 0x1e;      // le16, read-only
    public const int QueueDesc = 0x20;           // le64
    public const int QueueDriver = 0x28;         // le64
    public const int QueueDevice = 0x30;         // le64
    public const int QueueNotifyData = 0x38;     // le16, read-only, from 1.2
    public const int QueueReset = 0x3a;          // le16, from 1.2 with VIRTIO_F_RING_RESET

    /// <summary>VIRTIO_MSI_NO_VECTOR: written to leave an event without a vector, read back when the device could not map one.</summary>
    public const ushort NoVector = 0xffff;
}
