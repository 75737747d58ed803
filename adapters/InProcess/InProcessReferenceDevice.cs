using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.InProcess;

/// <summary>
/// The bundled reference device in this process. Guest RAM is a memfd that the driver and the device map
/// separately, so they share memory and nothing else, as they would across a vhost-user socket.
/// </summary>
public sealed class InProcessReferenceDevice : IVirtioDevice, IQueueReset
{
    public const ulong GuestBase = GuestRam.Base;
    public const long DefaultMemoryBytes = 256L << 20;

    private readonly GuestRam _ram;
    private readonly VirtioNetDevice _device;
    private readonly SemaphoreSlim _notified = new(0);
    private readonly Lock _gate = new();

    public InProcessReferenceDevice(DeviceUri uri)
    {
        Uri = uri;
        var pairs = uri.GetInt("pairs", 8);
        var faults = uri.GetAll("fault").Select(DeviceFaults.Parse).ToHashSet();
        if (faults.FirstOrDefault(DeviceFaults.BackendOnly.Contains) is var f && DeviceFaults.BackendOnly.Contains(f))
            throw new FormatException($"device URI '{uri}': fault {f.Name()} exists only in the vhost-user back-end (serve --fault {f.Name()})");
        var memoryBytes = (long)uri.GetInt("memory-mib", (int)(DefaultMemoryBytes >> 20)) << 20;
        Options = new ReferenceOptions(pairs, Multiqueue: uri.Get("mq") is not "off").WithFaults(faults);
        _ram = new GuestRam("virtio-mq-guest-ram", memoryBytes);
        _device = new VirtioNetDevice(Options, _ram.Device);
        _device.UsedBufferNotification += _ => _notified.Release();
        Identity = new Dictionary<string, string>
        {
            ["kind"] = "reference (in-process)",
            ["max_virtqueue_pairs"] = pairs.ToString(),
            ["faults"] = faults.Count == 0 ? "none" : string.Join(",", faults.Select(f => f.Name())),
        };
    }

    public ReferenceOptions Options { get; }
    public DeviceUri Uri { get; }
    public GuestMemory Memory => _ram.Driver;
    public ulong MemoryBase => GuestBase;
    public ulong MemorySize => _ram.Size;
    public int NumQueues => _device.NumQueues;
    public int QueueMaxSize => _device.QueueMaxSize;
    public TimeSpan SettleTime => TimeSpan.Zero;
    public IReadOnlyDictionary<string, string> Identity { get; }
    public DeviceCapabilities Capabilities => _capabilities ??= new DeviceCapabilities().With<IQueueReset>(this);
    private DeviceCapabilities? _capabilities;

    /// <summary>The device resets the queue inside the call, as its transport's register write would ask.</summary>
    public QueueResetOutcome ResetQueue(int vq, TimeSpan timeout)
    {
        lock (_gate)
        {
            _device.ResetQueue(vq);
            return new QueueResetOutcome(true, _device.QueueEnabled(vq));
        }
    }

    /// <summary>The device's own log of refused guest input, for diagnostics in failure messages.</summary>
    public IReadOnlyList<string> DeviceLog => _device.Log;

    public FeatureSet ReadDeviceFeatures() => _device.DeviceFeatures;
    public void WriteDriverFeatures(FeatureSet features) { lock (_gate) _device.WriteDriverFeatures(features); }
    public DeviceStatus ReadStatus() => _device.Status;
    public void WriteStatus(DeviceStatus status) { lock (_gate) _device.WriteStatus(status); }
    public void ReadConfig(int offset, Span<byte> destination) { lock (_gate) _device.ReadConfig(offset, destination); }
    public void SetupQueue(int vq, QueueRegisters registers) { lock (_gate) _device.ConfigureQueue(vq, registers); }
    public void Kick(int vq) { lock (_gate) _device.Notify(vq); }
    public bool WaitForNotification(TimeSpan timeout) => _notified.Wait(timeout);

    public void Dispose()
    {
        _ram.Dispose();
        _notified.Dispose();
    }
}
