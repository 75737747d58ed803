using Microsoft.Extensions.DependencyInjection;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.InProcess;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// The in-process reference with one of its answers hidden from the driver, as a device that lacks that behaviour
/// would look: for the properties whose bug is the absence of something (a status bit, an interrupt), which a fault
/// switch inside the device would only imitate the same way. URI: <c>masked://?pairs=N&amp;hide=needs-reset|notifications</c>.
/// <c>bug=</c> adds what such a device does on top, seen from the transport: <c>notify-always</c> (a notification
/// after every kick, whatever the driver's suppression asks), <c>needs-reset-kept</c> (DEVICE_NEEDS_RESET outlives a
/// reset), <c>max-pairs-byte-swapped</c> (max_virtqueue_pairs read big-endian), <c>small-rss-limits</c> (rss_max_key_size 32 and
/// rss_max_indirection_table_length 64 with RSS offered), <c>no-one-entry-rings</c> (a ring of
/// one entry is accepted and never used), <c>reads-past-memory</c> (a
/// kick on a ring that runs past guest memory fails, as a device that reads it unchecked would), <c>used-idx-saturates</c>
/// (the used idx a ring publishes stops at 65535, as from a device that keeps it in a wider integer and clamps it when
/// storing the 16-bit field, instead of wrapping to 0). <c>careful=</c> gives
/// another answer a careful device may give: <c>needs-reset-past-memory</c> (a kick on a ring that runs past guest memory
/// is not passed on; the device sets DEVICE_NEEDS_RESET until the next reset, as QEMU's virtio_error does).
/// </summary>
public sealed class MaskedReferenceDevice(DeviceUri uri) : IVirtioDevice
{
    private readonly InProcessReferenceDevice _inner = new(DeviceUri.Parse($"reference://?pairs={uri.Query["pairs"][0]}"));
    private readonly bool _hideNeedsReset = uri.GetAll("hide").Contains("needs-reset");
    private readonly bool _hideNotifications = uri.GetAll("hide").Contains("notifications");
    private readonly HashSet<string> _bugs = [.. uri.GetAll("bug")];
    private readonly Dictionary<int, QueueRegisters> _rings = [];
    // used-idx-saturates: per ring, the used idx last seen and how many entries the device has published in all.
    private readonly Dictionary<int, (ushort Last, long Published)> _used = [];
    private readonly bool _needsResetPastMemory = uri.GetAll("careful").Contains("needs-reset-past-memory");
    private bool _kicked;
    private bool _neededReset;
    private bool _gaveUp;

    public static DeviceResolver Resolver() =>
        new ServiceCollection().AddSuiteDevices().AddDeviceAdapter("masked", u => new MaskedReferenceDevice(u)).BuildServiceProvider()
            .GetRequiredService<DeviceResolver>();

    public DeviceUri Uri => uri;
    public GuestMemory Memory => _inner.Memory;
    public ulong MemoryBase => _inner.MemoryBase;
    public ulong MemorySize => _inner.MemorySize;
    public FeatureSet ReadDeviceFeatures() => _inner.ReadDeviceFeatures();
    public void WriteDriverFeatures(FeatureSet features) => _inner.WriteDriverFeatures(features);
    public DeviceStatus ReadStatus()
    {
        var status = _inner.ReadStatus();
        _neededReset |= (status & DeviceStatus.DeviceNeedsReset) != 0;
        if (_bugs.Contains("needs-reset-kept") && _neededReset && (status & DeviceStatus.DriverOk) != 0) status |= DeviceStatus.DeviceNeedsReset;
        if (_gaveUp) status |= DeviceStatus.DeviceNeedsReset;
        return _hideNeedsReset ? status & ~DeviceStatus.DeviceNeedsReset : status;
    }

    public void WriteStatus(DeviceStatus status)
    {
        if (status == DeviceStatus.None) _gaveUp = false;
        _inner.WriteStatus(status);
    }
    public void ReadConfig(int offset, Span<byte> destination)
    {
        _inner.ReadConfig(offset, destination);
        // max_virtqueue_pairs in big-endian byte order, as a device that forgets the le16 of §5.1.4 would give it.
        var at = NetConfig.MaxVirtqueuePairsOffset - offset;
        if (_bugs.Contains("max-pairs-byte-swapped") && at >= 0 && at + 1 < destination.Length)
            (destination[at], destination[at + 1]) = (destination[at + 1], destination[at]);
        // rss_max_key_size 32 and rss_max_indirection_table_length 64, below the 40 and 128 §5.1.4.1 asks with RSS offered.
        if (_bugs.Contains("small-rss-limits"))
        {
            Span<byte> config = stackalloc byte[NetConfig.Size];
            _inner.ReadConfig(0, config);
            config[NetConfig.RssMaxKeySizeOffset] = 32;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(config[NetConfig.RssMaxIndirectionTableLengthOffset..], 64);
            if (offset >= 0 && offset < config.Length) config[offset..Math.Min(config.Length, offset + destination.Length)].CopyTo(destination);
        }
    }
    public int NumQueues => _inner.NumQueues;
    public int QueueMaxSize => _inner.QueueMaxSize;
    public void SetupQueue(int vq, QueueRegisters registers)
    {
        _rings[vq] = registers;
        _used[vq] = (0, 0);
        if (_bugs.Contains("no-one-entry-rings") && registers.Size == 1) return;
        _inner.SetupQueue(vq, registers);
    }

    public void Kick(int vq)
    {
        if (_bugs.Contains("reads-past-memory") && _rings.TryGetValue(vq, out var r) && RunsPastMemory(r))
            throw new GuestMemoryFault(MemoryBase + MemorySize, 1);
        if (_needsResetPastMemory && _rings.TryGetValue(vq, out var bad) && RunsPastMemory(bad))
        {
            _gaveUp = true;
            return;
        }
        _inner.Kick(vq);
        _kicked = true;
        if (_bugs.Contains("used-idx-saturates")) SaturateUsedIdx();
    }

    /// <summary>The in-process device works inside the kick, so clamping every ring after it is all the driver ever sees.</summary>
    private void SaturateUsedIdx()
    {
        foreach (var (vq, r) in _rings)
        {
            var (last, published) = _used.GetValueOrDefault(vq);
            if (published < ushort.MaxValue)
            {
                var now = Memory.ReadU16(r.Used + 2);
                published += (ushort)(now - last);
                _used[vq] = (now, published);
            }
            if (published >= ushort.MaxValue) Memory.WriteU16(r.Used + 2, ushort.MaxValue);
        }
    }

    private bool RunsPastMemory(QueueRegisters r)
    {
        var end = MemoryBase + MemorySize;
        return r.Desc + (ulong)SplitRing.DescriptorTableBytes(r.Size) > end || r.Avail + (ulong)SplitRing.AvailRingBytes(r.Size) > end
            || r.Used + (ulong)SplitRing.UsedRingBytes(r.Size) > end;
    }

    public bool WaitForNotification(TimeSpan timeout)
    {
        if (_bugs.Contains("notify-always") && _kicked)
        {
            _kicked = false;
            return !_hideNotifications;
        }
        var notified = _inner.WaitForNotification(timeout);
        return notified && !_hideNotifications;
    }

    public TimeSpan SettleTime => _inner.SettleTime;
    public IReadOnlyDictionary<string, string> Identity => _inner.Identity;
    public VirtioMq.Adapters.Devices.Capabilities.DeviceCapabilities Capabilities => _inner.Capabilities;
    public void Dispose() => _inner.Dispose();
}
