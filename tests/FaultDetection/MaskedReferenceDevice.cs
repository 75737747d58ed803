using Microsoft.Extensions.DependencyInjection;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.InProcess;
using VirtioMq.Reference.Memory;
using VirtioMq.Reference.Net;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// The in-process reference with one of its answers hidden from the driver, as a device that lacks that behaviour
/// would look: for the properties whose bug is the absence of something (a status bit, an interrupt), which a fault
/// switch inside the device would only imitate the same way. URI: <c>masked://?pairs=N&amp;hide=needs-reset|notifications</c>.
/// </summary>
public sealed class MaskedReferenceDevice(DeviceUri uri) : IVirtioDevice
{
    private readonly InProcessReferenceDevice _inner = new(DeviceUri.Parse($"reference://?pairs={uri.Query["pairs"][0]}"));
    private readonly bool _hideNeedsReset = uri.Query["hide"].Contains("needs-reset");
    private readonly bool _hideNotifications = uri.Query["hide"].Contains("notifications");

    public static DeviceResolver Resolver() =>
        new ServiceCollection().AddVirtioDevices().AddDeviceAdapter("masked", u => new MaskedReferenceDevice(u)).BuildServiceProvider()
            .GetRequiredService<DeviceResolver>();

    public DeviceUri Uri => uri;
    public GuestMemory Memory => _inner.Memory;
    public ulong MemoryBase => _inner.MemoryBase;
    public ulong MemorySize => _inner.MemorySize;
    public FeatureSet ReadDeviceFeatures() => _inner.ReadDeviceFeatures();
    public void WriteDriverFeatures(FeatureSet features) => _inner.WriteDriverFeatures(features);
    public DeviceStatus ReadStatus() => _hideNeedsReset ? _inner.ReadStatus() & ~DeviceStatus.DeviceNeedsReset : _inner.ReadStatus();
    public void WriteStatus(DeviceStatus status) => _inner.WriteStatus(status);
    public void ReadConfig(int offset, Span<byte> destination) => _inner.ReadConfig(offset, destination);
    public int NumQueues => _inner.NumQueues;
    public int QueueMaxSize => _inner.QueueMaxSize;
    public void SetupQueue(int vq, QueueRegisters registers) => _inner.SetupQueue(vq, registers);
    public void Kick(int vq) => _inner.Kick(vq);

    public bool WaitForNotification(TimeSpan timeout)
    {
        var notified = _inner.WaitForNotification(timeout);
        return notified && !_hideNotifications;
    }

    public TimeSpan SettleTime => _inner.SettleTime;
    public IReadOnlyDictionary<string, string> Identity => _inner.Identity;
    public void Dispose() => _inner.Dispose();
}
