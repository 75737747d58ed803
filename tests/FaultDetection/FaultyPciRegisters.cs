using VirtioMq.Adapters.Pci;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>A virtio-pci transport bug, put in front of QEMU's real registers by <see cref="FaultyPciRegisters"/>.</summary>
public enum PciFault
{
    /// <summary>Writing 0 to device_status while the device is live does nothing (§4.1.4.3.1 wants a reset).</summary>
    IgnoresResetWhileLive,

    /// <summary>queue_enable of a queue enabled before a reset still reads 1 after it.</summary>
    QueueEnableSurvivesReset,

    /// <summary>queue_size of an index past num_queues reads 256 instead of 0.</summary>
    AbsentQueueHasSize,
}

/// <summary>
/// QEMU's device with one transport rule broken: the driver and the checks both reach the device through this view,
/// so it is one device that breaks the rule, not a second opinion. Everything else passes straight through.
/// </summary>
public sealed class FaultyPciRegisters(IVirtioPciRegisters inner, PciFault fault) : IVirtioPciRegisters
{
    private readonly HashSet<int> _enabledBeforeReset = [];
    private readonly HashSet<int> _enabled = [];
    private DeviceStatus _status;

    public FeatureSet ReadDeviceFeatures() => inner.ReadDeviceFeatures();
    public void WriteDriverFeatures(FeatureSet features) => inner.WriteDriverFeatures(features);
    public DeviceStatus ReadStatus() => fault == PciFault.IgnoresResetWhileLive && (_status & DeviceStatus.DriverOk) != 0 ? _status : inner.ReadStatus();

    public void WriteStatus(DeviceStatus status)
    {
        if (status == DeviceStatus.None)
        {
            if (fault == PciFault.IgnoresResetWhileLive && (_status & DeviceStatus.DriverOk) != 0) return;
            _enabledBeforeReset.UnionWith(_enabled);
            _enabled.Clear();
        }
        _status = status;
        inner.WriteStatus(status);
    }

    public int NumQueues => inner.NumQueues;
    public byte ReadIsr() => inner.ReadIsr();

    public int QueueSize(int vq) => fault == PciFault.AbsentQueueHasSize && vq >= inner.NumQueues ? 256 : inner.QueueSize(vq);

    public bool QueueEnabled(int vq) => fault == PciFault.QueueEnableSurvivesReset && _enabledBeforeReset.Contains(vq) || inner.QueueEnabled(vq);

    public void WriteQueueReset(int vq) => inner.WriteQueueReset(vq);
    public bool QueueResetting(int vq) => inner.QueueResetting(vq);

    public ushort SetupQueue(int vq, QueueRegisters registers, ushort vector)
    {
        _enabled.Add(vq);
        return inner.SetupQueue(vq, registers, vector);
    }

    public ushort SetConfigVector(ushort vector) => inner.SetConfigVector(vector);
    public ulong NotifyAddress(int vq) => inner.NotifyAddress(vq);
    public void ReadDeviceConfig(int offset, Span<byte> destination) => inner.ReadDeviceConfig(offset, destination);
}
