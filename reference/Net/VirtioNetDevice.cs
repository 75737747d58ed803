using System.Buffers.Binary;
using VirtioMq.Reference.Memory;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>
/// The reference multiqueue virtio-net device: status and feature negotiation, config space, virtqueue
/// registers, the controlq and a loopback data path. Transports (in-process, vhost-user) drive it through
/// these members; everything the driver shares with it is guest memory.
/// </summary>
/// <remarks>Not thread-safe: a transport serialises calls, as a device model's single event loop would.</remarks>
public sealed partial class VirtioNetDevice
{
    public static readonly byte[] DefaultMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    private readonly ReferenceOptions _options;
    private readonly GuestMemory _memory;
    private readonly Dictionary<int, QueueRegisters> _registers = [];
    private readonly Dictionary<int, DeviceVirtqueue> _queues = [];
    private readonly ReceiveSteering _steering = new();
    private FeatureSet _driverFeatures = FeatureSet.Empty;
    private int _resets;

    public VirtioNetDevice(ReferenceOptions options, GuestMemory memory)
    {
        if (options.MaxPairs is < 1 or > NetControl.VqPairsMax)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPairs, "max_virtqueue_pairs must be 1..0x8000");
        _options = options;
        _memory = memory;
        DeviceFeatures = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetMac, FeatureBit.NetStatus, FeatureBit.NetCtrlVq,
            FeatureBit.NetMq, FeatureBit.EventIdx, FeatureBit.IndirectDesc);
        if (options.Has(DeviceFault.MqWithoutCtrlVq)) DeviceFeatures = DeviceFeatures.Without(FeatureBit.NetCtrlVq);
    }

    /// <summary>Called with a virtqueue index whenever the device sends a used buffer notification.</summary>
    public event Action<int>? UsedBufferNotification;

    public FeatureSet DeviceFeatures { get; }
    public FeatureSet Negotiated { get; private set; } = FeatureSet.Empty;
    public DeviceStatus Status { get; private set; }
    public int MaxPairs => _options.MaxPairs;
    public int QueueMaxSize => _options.QueueMaxSize;

    /// <summary>virtqueue_pairs in force: 1 after reset, then what the last accepted VQ_PAIRS_SET said.</summary>
    public int CurrentPairs { get; private set; } = 1;

    /// <summary>Why the device refused guest input, newest last; bounded so hostile input cannot grow it.</summary>
    public IReadOnlyList<string> Log => _log;
    private readonly List<string> _log = [];

    /// <summary>How many virtqueues the transport exposes: every pair plus the controlq.</summary>
    public int NumQueues => 2 * _options.MaxPairs + 1;

    public NetQueueLayout Layout => NetQueueLayout.For(Negotiated, _options.MaxPairs);

    public void WriteDriverFeatures(FeatureSet features)
    {
        // Features are fixed once FEATURES_OK is set; only a reset reopens negotiation (§2.2).
        if ((Status & DeviceStatus.FeaturesOk) == 0) _driverFeatures = features;
    }

    public void WriteStatus(DeviceStatus value)
    {
        if (value == DeviceStatus.None)
        {
            Reset();
            return;
        }
        var rising = value & ~Status;
        if ((rising & DeviceStatus.FeaturesOk) != 0 && !AcceptFeatures())
            value &= ~DeviceStatus.FeaturesOk;
        Status = value;
        if ((rising & DeviceStatus.DriverOk) != 0 && (Status & DeviceStatus.FeaturesOk) != 0)
            Start();
    }

    /// <summary>Reads device configuration space (§5.1.4); bytes past the structure read as zero.</summary>
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> cfg = stackalloc byte[NetConfig.Size];
        DefaultMac.CopyTo(cfg);
        BinaryPrimitives.WriteUInt16LittleEndian(cfg[NetConfig.StatusOffset..], NetConfig.StatusLinkUp);
        var pairs = _options.Has(DeviceFault.MaxPairsZero) ? 0 : _options.MaxPairs;
        BinaryPrimitives.WriteUInt16LittleEndian(cfg[NetConfig.MaxVirtqueuePairsOffset..], (ushort)pairs);
        destination.Clear();
        if (offset < 0 || offset >= cfg.Length) return;
        var n = Math.Min(destination.Length, cfg.Length - offset);
        cfg.Slice(offset, n).CopyTo(destination);
    }

    /// <summary>Records a virtqueue's size and ring addresses; checked when the device starts using it.</summary>
    public void ConfigureQueue(int vq, QueueRegisters registers)
    {
        if (vq < 0 || vq >= NumQueues) throw new ArgumentOutOfRangeException(nameof(vq), vq, $"the device has {NumQueues} virtqueues");
        if (registers.Size > _options.QueueMaxSize)
            throw new ArgumentOutOfRangeException(nameof(registers), registers.Size, $"queue size is at most {_options.QueueMaxSize}");
        _registers[vq] = registers;
        _queues.Remove(vq);
        if ((Status & DeviceStatus.DriverOk) != 0) Activate(vq);
    }

    /// <summary>The driver's available buffer notification (a kick) for one virtqueue.</summary>
    public void Notify(int vq)
    {
        var live = (Status & DeviceStatus.DriverOk) != 0 && (Status & DeviceStatus.DeviceNeedsReset) == 0;
        if (!live && !_options.Has(DeviceFault.ConsumeBeforeDriverOk)) return; // §2.1.2: nothing before DRIVER_OK
        if (!live && !_queues.ContainsKey(vq) && _registers.ContainsKey(vq)) Activate(vq);
        Process(vq);
    }

    private void Reset()
    {
        Status = DeviceStatus.None;
        Negotiated = FeatureSet.Empty;
        _driverFeatures = FeatureSet.Empty;
        _registers.Clear();
        _queues.Clear();
        _resets++;
        if (_options.Has(DeviceFault.ResetKeepsPairs)) return;
        CurrentPairs = 1;
        _steering.Forget();
    }

    private bool AcceptFeatures()
    {
        var f = _driverFeatures;
        string? why = !f.IsSubsetOf(DeviceFeatures) ? $"driver accepted features the device did not offer: {f}"
            : !f.Has(FeatureBit.Version1) ? "driver did not accept VIRTIO_F_VERSION_1 (this device has no legacy interface)"
            : FeatureRules.FirstUnsatisfied(f) is { } u ? $"{u.Feature} requires {u.Missing}"
            : null;
        if (why is not null)
        {
            Note($"FEATURES_OK refused: {why}");
            return false;
        }
        Negotiated = f;
        return true;
    }

    private void Start()
    {
        _starts++;
        foreach (var vq in _registers.Keys.ToList()) Activate(vq);
        // The device may look at buffers as soon as avail idx exposes them (§2.7.13.3), so start with
        // whatever was queued before DRIVER_OK.
        foreach (var vq in _queues.Keys.Order().ToList()) Process(vq);
    }

    private void Activate(int vq)
    {
        var r = _registers[vq];
        try
        {
            var q = new DeviceVirtqueue(_memory, vq, r.Size, r.Desc, r.Avail, r.Used,
                Negotiated.Has(FeatureBit.EventIdx), Negotiated.Has(FeatureBit.IndirectDesc));
            q.SyncUsedIdxFromMemory();
            q.LastAvailIdx = q.UsedIdx;
            _queues[vq] = q;
        }
        catch (ChainError e)
        {
            Note(e.Message);
        }
    }

    private void Note(string message)
    {
        if (_log.Count >= 1000) _log.RemoveAt(0);
        _log.Add(message);
    }

    private void RaiseIfDue(DeviceVirtqueue q)
    {
        if (q.TakeNotificationDue()) UsedBufferNotification?.Invoke(q.Index);
    }
}
