using VirtioMq.Spec;

namespace VirtioMq.Adapters.Pci;

/// <summary>
/// The registers of a modern virtio-pci function as a driver uses them (§4.1.4): the common configuration, the ISR,
/// the notification addresses and the device configuration. <see cref="VirtioPciTransport"/> is the real one; a test
/// of the suite may put a faulty view in front of it to show that a check fails on a device that breaks its rule.
/// </summary>
public interface IVirtioPciRegisters
{
    FeatureSet ReadDeviceFeatures();
    void WriteDriverFeatures(FeatureSet features);
    DeviceStatus ReadStatus();
    void WriteStatus(DeviceStatus status);
    int NumQueues { get; }
    byte ReadIsr();
    int QueueSize(int vq);
    bool QueueEnabled(int vq);

    /// <summary>Writes 1 to queue_reset of <paramref name="vq"/> (VIRTIO_F_RING_RESET, §4.1.4.3.2).</summary>
    void WriteQueueReset(int vq);

    /// <summary>Reads queue_reset of <paramref name="vq"/>: 1 while a reset is under way, 0 once it is done (§4.1.4.3.1).</summary>
    bool QueueResetting(int vq);
    ushort SetupQueue(int vq, QueueRegisters registers, ushort vector);
    ushort SetConfigVector(ushort vector);
    ulong NotifyAddress(int vq);
    void ReadDeviceConfig(int offset, Span<byte> destination);
}
