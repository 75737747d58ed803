using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.Devices;

/// <summary>
/// A virtio-net device as a driver reaches it through its transport: feature and status registers, config
/// space, virtqueue setup and notifications, and the guest memory both sides share. Every kind of device
/// under test (in-process reference, vhost-user back-end, ...) is one implementation of this.
/// </summary>
public interface IVirtioDevice : IDisposable
{
    /// <summary>The URI the device was opened with, for reports and replay commands.</summary>
    DeviceUri Uri { get; }

    /// <summary>The driver's own mapping of guest RAM.</summary>
    GuestMemory Memory { get; }
    ulong MemoryBase { get; }
    ulong MemorySize { get; }

    FeatureSet ReadDeviceFeatures();
    void WriteDriverFeatures(FeatureSet features);
    DeviceStatus ReadStatus();
    void WriteStatus(DeviceStatus status);
    void ReadConfig(int offset, Span<byte> destination);

    /// <summary>How many virtqueues the transport offers, and the largest size each may have.</summary>
    int NumQueues { get; }
    int QueueMaxSize { get; }

    /// <summary>The largest size virtqueue <paramref name="vq"/> may have, for transports where queues differ (PCI's per-queue queue_size).</summary>
    int MaxQueueSize(int vq) => QueueMaxSize;

    /// <summary>Gives the device a virtqueue's size and ring addresses and enables it.</summary>
    void SetupQueue(int vq, QueueRegisters registers);

    /// <summary>Sends an available buffer notification for a virtqueue.</summary>
    void Kick(int vq);

    /// <summary>
    /// Blocks until the device sends any used buffer notification or <paramref name="timeout"/> passes.
    /// Returns false on timeout. Callers re-check the rings either way.
    /// </summary>
    bool WaitForNotification(TimeSpan timeout);

    /// <summary>
    /// How long to wait before concluding that nothing more will arrive: zero for a device that does all its
    /// work inside <see cref="Kick"/>, a grace period for one that runs on its own.
    /// </summary>
    TimeSpan SettleTime { get; }

    /// <summary>What the device can do beyond this interface; a check that needs one asks for it here.</summary>
    DeviceCapabilities Capabilities { get; }

    /// <summary>What the device says it is, for reports (kind, max pairs, faults...).</summary>
    IReadOnlyDictionary<string, string> Identity { get; }
}
