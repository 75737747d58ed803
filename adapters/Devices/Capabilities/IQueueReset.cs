namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>What the transport showed of one virtqueue reset.</summary>
/// <param name="Completed">The device said the reset was done (PCI: queue_reset read back 0) within the time allowed.</param>
/// <param name="EnabledAfter">queue_enable as read once the reset was done: it must read 0 (§4.1.4.3.1).</param>
public readonly record struct QueueResetOutcome(bool Completed, bool EnabledAfter);

/// <summary>
/// The driver can reset one virtqueue at the transport (VIRTIO_F_RING_RESET, §2.6.1) and enable it again later with
/// <see cref="IVirtioDevice.SetupQueue"/>. How the reset is asked for is the transport's (PCI: queue_reset, §4.1.4.3).
/// </summary>
public interface IQueueReset
{
    /// <summary>Resets virtqueue <paramref name="vq"/> and waits up to <paramref name="timeout"/> for the device to say it is done.</summary>
    QueueResetOutcome ResetQueue(int vq, TimeSpan timeout);
}
