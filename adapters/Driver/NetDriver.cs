using System.Buffers.Binary;
using System.Diagnostics;
using VirtioMq.Adapters.Devices;
using VirtioMq.Spec;

namespace VirtioMq.Adapters.Driver;

/// <summary>
/// The suite's virtio-net driver: it follows the initialisation sequence of §3.1.1, keeps the queues in guest
/// memory and sends control commands and frames. Conformance tests act on a device only through it.
/// </summary>
public sealed partial class NetDriver(IVirtioDevice device, DriverOptions? options = null)
{
    private readonly DriverOptions _options = options ?? new DriverOptions();
    private readonly Dictionary<int, DriverVirtqueue> _queues = [];
    private GuestAllocator _alloc = new(device.MemoryBase, device.MemorySize);
    private readonly HashSet<int> _heldKicks = [];
    private bool _driverOk;

    public IVirtioDevice Device { get; } = device;
    public DriverOptions Options => _options;
    public FeatureSet Offered { get; private set; }
    public FeatureSet Negotiated { get; private set; }

    /// <summary>max_virtqueue_pairs as read from config space (1 when neither MQ nor RSS is offered).</summary>
    public int MaxPairs { get; private set; } = 1;

    /// <summary>The pairs whose queues this driver set up (the spec lets a driver set up fewer than N).</summary>
    public int ConfiguredPairs { get; private set; }

    public NetQueueLayout Layout => NetQueueLayout.For(Negotiated, MaxPairs);

    /// <summary>
    /// How long to wait for something the device must do (an ack, a looped-back frame): nothing for a device
    /// that finishes its work inside the kick, the full timeout for one that runs on its own.
    /// </summary>
    public TimeSpan ResponseWait => Device.SettleTime == TimeSpan.Zero ? TimeSpan.Zero : _options.Timeout;
    public bool IsLive => (Device.ReadStatus() & DeviceStatus.DriverOk) != 0;

    /// <summary>The features the suite asks for by default: everything multiqueue needs, nothing it does not test.</summary>
    public static readonly FeatureSet DefaultRequest = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetCtrlVq, FeatureBit.NetMq,
        FeatureBit.NetMac, FeatureBit.NetStatus, FeatureBit.EventIdx, FeatureBit.IndirectDesc);

    /// <summary>Writes 0 to the status and waits until the device reads back 0 (§2.4, §4.1.4.3.2).</summary>
    public void Reset()
    {
        Device.WriteStatus(DeviceStatus.None);
        WaitUntil(() => Device.ReadStatus() == DeviceStatus.None, "device status to read 0 after reset");
        _queues.Clear();
        _heldKicks.Clear();
        _driverOk = false;
        _alloc = new GuestAllocator(Device.MemoryBase, Device.MemorySize);
        Negotiated = FeatureSet.Empty;
        ConfiguredPairs = 0;
    }

    /// <summary>Steps 1-5 of §3.1.1: reset, ACKNOWLEDGE, DRIVER, read features and config, write features.</summary>
    public void BeginNegotiation()
    {
        Reset();
        AddStatus(DeviceStatus.Acknowledge);
        AddStatus(DeviceStatus.Driver);
        Offered = Device.ReadDeviceFeatures();
        MaxPairs = Offered.Has(FeatureBit.NetMq) || Offered.Has(FeatureBit.NetRss) ? ReadConfigU16(NetConfig.MaxVirtqueuePairsOffset) : 1;
    }

    /// <summary>The format of the rings this driver sets up: packed once VIRTIO_F_RING_PACKED is negotiated.</summary>
    public RingFormat Format => Negotiated.Has(FeatureBit.RingPacked) ? RingFormat.Packed : RingFormat.Split;

    /// <summary>
    /// Writes the driver's features and sets FEATURES_OK; true when the bit sticks on re-read (step 6). The ring format is
    /// the driver's setting, not the check's: with <see cref="DriverOptions.Ring"/> packed, VIRTIO_F_RING_PACKED joins
    /// whatever a check accepts whenever the device offers it, so every check runs in the format of the run.
    /// </summary>
    public bool AcceptFeatures(FeatureSet features)
    {
        if (_options.Ring == RingFormat.Packed && Offered.Has(FeatureBit.RingPacked)) features = features.With(FeatureBit.RingPacked);
        else features = features.Without(FeatureBit.RingPacked);
        // IN_ORDER only when asked for: a check that returns buffers out of order on purpose, or rewrites chains, needs the
        // device free to use them in any order.
        features = _options.InOrder && Offered.Has(FeatureBit.InOrder) ? features.With(FeatureBit.InOrder) : features.Without(FeatureBit.InOrder);
        Device.WriteDriverFeatures(features);
        AddStatus(DeviceStatus.FeaturesOk);
        var ok = (Device.ReadStatus() & DeviceStatus.FeaturesOk) != 0;
        Negotiated = ok ? features : FeatureSet.Empty;
        return ok;
    }

    /// <summary>
    /// The whole initialisation: negotiates <paramref name="request"/> (intersected with what is offered),
    /// sets up <paramref name="pairs"/> queue pairs (default: all, up to 64) and the controlq, posts receive
    /// buffers and sets DRIVER_OK. Throws when the device refuses FEATURES_OK.
    /// </summary>
    public void Initialize(FeatureSet? request = null, int? pairs = null, bool driverOk = true)
    {
        BeginNegotiation();
        var features = (request ?? DefaultRequest).Intersect(Offered);
        if (!AcceptFeatures(features))
            throw new DeviceProtocolException($"the device refused FEATURES_OK for {features} (offered {Offered})");
        SetUpQueues(pairs);
        if (driverOk) SetDriverOk();
    }

    /// <summary>Step 7: virtqueues for pairs 1..pairs and the controlq, with receive buffers posted.</summary>
    public void SetUpQueues(int? pairs = null)
    {
        var layout = Layout;
        ConfiguredPairs = Math.Clamp(pairs ?? Math.Min(layout.DataPairs, 64), 1, layout.DataPairs);
        if (layout.ControlqIndex is { } cvq) AddQueue(cvq, _options.QueueSize);
        for (var p = 1; p <= ConfiguredPairs; p++)
        {
            var size = p <= _options.RoomyPairs ? _options.QueueSize : _options.SmallQueueSize;
            AddQueue(NetQueueLayout.Receiveq(p), size);
            AddQueue(NetQueueLayout.Transmitq(p), size);
        }
        // Receive buffers on every pair set up, as a driver does: a device may steer a frame to any receiveq in use (the
        // first of a flow often goes by hash), and one with no buffers there would look as if it had lost the frame.
        var buffered = ConfiguredPairs <= _options.BufferedPairs ? ConfiguredPairs : Math.Min(ConfiguredPairs, _options.RoomyPairs);
        for (var p = 1; p <= buffered; p++) Replenish(p);
    }

    /// <summary>Step 8: DRIVER_OK, then the notifications held back until now (§3.1.1 forbids them earlier).</summary>
    public void SetDriverOk()
    {
        AddStatus(DeviceStatus.DriverOk);
        _driverOk = true;
        foreach (var vq in _heldKicks.Order().ToList()) Device.Kick(vq);
        _heldKicks.Clear();
    }

    /// <summary>
    /// Sets <paramref name="bits"/> on top of the status as the device reads it now, as §2.1.1 asks (a driver never clears
    /// a bit): a DEVICE_NEEDS_RESET the device raised meanwhile stays visible instead of being written over.
    /// </summary>
    private void AddStatus(DeviceStatus bits) => Device.WriteStatus(Device.ReadStatus() | bits);

    /// <summary>Exposes what was added to <paramref name="q"/> and notifies the device if it wants that and DRIVER_OK is set.</summary>
    public void PublishAndKick(DriverVirtqueue q)
    {
        if (!q.Publish()) return;
        if (_driverOk) Device.Kick(q.Index);
        else _heldKicks.Add(q.Index);
    }

    public DriverVirtqueue Queue(int vq) =>
        _queues.TryGetValue(vq, out var q) ? q : throw new InvalidOperationException($"virtqueue {vq} was not set up (configured pairs: {ConfiguredPairs})");

    public bool HasQueue(int vq) => _queues.ContainsKey(vq);

    /// <summary>Sets up one virtqueue at an index of the caller's choice (probes use it to place a queue where a faulty device expects one).</summary>
    public DriverVirtqueue AddQueue(int vq, int size)
    {
        var numQueues = Device.NumQueues;
        // A probe may place a queue outside the layout; a device without that index has simply no such queue.
        if (vq >= numQueues && Layout.Identify(vq).Role == QueueRole.None)
            throw new InvalidOperationException($"vq {vq} is outside the negotiated layout and the device has {numQueues} virtqueues: there is no such queue to set up");
        // The queue indices come from the device's own config space (max_virtqueue_pairs sets where each queue and the
        // controlq are): one past the queues the device has means the field does not say what §5.1.4 defines, a wrong
        // byte order being the usual cause. The device's answer is judged, never a crash of the check.
        if (vq >= numQueues)
            throw new DeviceProtocolException(
                $"max_virtqueue_pairs reads {MaxPairs} (0x{MaxPairs:x4}), which puts vq {vq} ({Layout.Identify(vq)}) in the layout, but the device has " +
                $"{numQueues} virtqueues (room for {(numQueues - 1) / 2} pairs and a controlq); the field is le16 (§5.1.4)")
            { Breach = Breach.ConfigLayoutPastQueues };
        size = Math.Min(size, Device.MaxQueueSize(vq));
        var q = DriverVirtqueue.Create(Format, Device.Memory, _alloc, vq, size, Negotiated.Has(FeatureBit.EventIdx),
            vq == Layout.ControlqIndex ? _options.ControlqStartIndex : _options.DataRingStartIndex, _options.PackedBufferIdInLastOnly,
            Negotiated.Has(FeatureBit.InOrder));
        Device.SetupQueue(vq, q.Registers);
        _queues[vq] = q;
        return q;
    }

    public ushort ReadConfigU16(int offset)
    {
        Span<byte> b = stackalloc byte[2];
        Device.ReadConfig(offset, b);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds, sleeping on device notifications; throws naming what it
    /// waited for and, when given, what a device that never gets there does wrong.
    /// </summary>
    public void WaitUntil(Func<bool> condition, string waitedFor, TimeSpan? timeout = null, Breach? breach = null)
    {
        var wait = Patience.Current.Cap(timeout ?? _options.Timeout);
        if (!TryWaitUntil(condition, wait))
            throw new DeviceTimeoutException(waitedFor, wait) { Breach = breach };
    }

    /// <summary>
    /// Polls <paramref name="condition"/> for up to <paramref name="timeout"/> (cut short once the device has timed out
    /// in this check, see <see cref="Patience"/>). A full-length wait that runs out counts as the device's timeout, and
    /// one that ends in time says how long the device took to answer; settle waits, which wait out the absence of
    /// something, do neither.
    /// </summary>
    public bool TryWaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var full = timeout >= _options.Timeout;
        timeout = Patience.Current.Cap(timeout);
        var clock = Stopwatch.StartNew();
        if (WaitFor(condition, timeout))
        {
            // How long an owed answer took is what a wait cut after a timeout is measured from (Patience.AfterTimeout).
            if (full) Patience.Current.Answered(clock.Elapsed);
            return true;
        }
        if (full) Patience.Current.RanOut();
        return false;
    }

    private bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero) return false;
            Device.WaitForNotification(left < TimeSpan.FromMilliseconds(5) ? left : TimeSpan.FromMilliseconds(5));
        }
        return true;
    }
}
