namespace VirtioMq.Spec;

/// <summary>Bits of the device status field (§2.1).</summary>
[Flags]
public enum DeviceStatus : byte
{
    None = 0,
    Acknowledge = 1,
    Driver = 2,
    DriverOk = 4,
    FeaturesOk = 8,
    /// <summary>New in 1.4, only with VIRTIO_F_SUSPEND.</summary>
    Suspend = 16,
    DeviceNeedsReset = 64,
    Failed = 128,
}
