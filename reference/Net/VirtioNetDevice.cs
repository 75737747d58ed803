using System.Buffers.Binary;
using VirtioMq.Reference.Seams;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Reference.Net;

/// <summary>
/// The reference multiqueue virtio-net device: status and feature negotiation, config space, virtqueue
/// registers and the controlq, with its receiveqs and transmitqs handed to its loopback data plane. Transports
/// drive it through these members; everything the driver shares with it is guest memory. (As a vhost-user
/// back-end the reference serves the data plane alone: reference/VhostUser/Backend.)
/// </summary>
/// <remarks>Not thread-safe: a transport serialises calls, as a device model's single event loop would.</remarks>
public sealed partial class VirtioNetDevice : IResetSteps, IKickSteps, IControlTarget
{
    public static readonly byte[] DefaultMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    private readonly ReferenceOptions _options;
    private readonly GuestMemory _memory;
    private readonly Dictionary<int, QueueRegisters> _registers = [];
    private readonly LoopbackDataPlane _dataPlane;
    private readonly DeviceSeams _seams;
    private IDeviceVirtqueue? _controlq;
    private FeatureSet _driverFeatures = FeatureSet.Empty;
    private readonly ReceiveScaling _scaling = new();

    /// <summary>A device with the loopback data plane over the same memory: the whole device in one object.</summary>
    public VirtioNetDevice(ReferenceOptions options, GuestMemory memory)
    {
        if (options.MaxPairs is < 1 or > NetControl.VqPairsMax)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPairs, "max_virtqueue_pairs must be 1..0x8000");
        _options = options;
        _memory = memory;
        _seams = DeviceSeams.For(options);
        DeviceFeatures = _seams.Offer.Features(options.Multiqueue);
        _dataPlane = new LoopbackDataPlane(memory, options, Note) { Scaling = _scaling };
        _dataPlane.UsedBufferNotification += vq => UsedBufferNotification?.Invoke(vq);
    }

    /// <summary>Called with a virtqueue index whenever the device sends a used buffer notification.</summary>
    public event Action<int>? UsedBufferNotification;

    public FeatureSet DeviceFeatures { get; }
    public FeatureSet Negotiated { get; private set; } = FeatureSet.Empty;
    /// <summary>
    /// The device status. DEVICE_NEEDS_RESET joins it whenever the data plane has found a ring unusable: over
    /// vhost-user the back-end says so on its error eventfd at a moment of its own, so the check belongs to the read,
    /// not to the kick that happened to cause it.
    /// </summary>
    public DeviceStatus Status
    {
        get
        {
            // Stryker disable once Bitwise : equivalent: a data plane reports NeedsReset only for a ring it served, so only while DRIVER_OK is set
            if ((_status & DeviceStatus.DriverOk) != 0 && _dataPlane.NeedsReset) _status |= DeviceStatus.DeviceNeedsReset;
            return _status;
        }
        private set => _status = value;
    }
    private DeviceStatus _status;
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
            // Stryker disable once all : equivalent: after a reset the status is 0, so going on writes 0 again and raises nothing
            return;
        }
        var rising = value & ~Status;
        // Stryker disable once Bitwise : equivalent: checking features again on any write finds the same answer, since the driver's features are fixed once FEATURES_OK is set and refused without it
        if ((rising & DeviceStatus.FeaturesOk) != 0 && !AcceptFeatures())
            value &= ~DeviceStatus.FeaturesOk;
        Status = value;
        // Stryker disable once Bitwise : equivalent for the spec: a driver whose FEATURES_OK was refused must not go on to DRIVER_OK (§3.1.1), and the spec sets the device no duty if it does
        if ((rising & DeviceStatus.DriverOk) != 0 && (Status & DeviceStatus.FeaturesOk) != 0)
            Start();
    }

    /// <summary>Reads device configuration space (§5.1.4); bytes past the structure read as zero.</summary>
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> cfg = stackalloc byte[NetConfig.Size];
        // Stryker disable all : out of reach: the spec fixes no MAC and no link state, and a driver reads each field inside the structure at its natural width, where the offset arithmetic has one answer
        DefaultMac.CopyTo(cfg);
        BinaryPrimitives.WriteUInt16LittleEndian(cfg[NetConfig.StatusOffset..], NetConfig.StatusLinkUp);
        BinaryPrimitives.WriteUInt16LittleEndian(cfg[NetConfig.MaxVirtqueuePairsOffset..], _seams.Offer.MaxVirtqueuePairs(_options.MaxPairs));
        _seams.Offer.WriteHashLimits(cfg, ReceiveScaling.DeviceLimits);
        destination.Clear();
        if (offset < 0 || offset >= cfg.Length) return;
        var n = Math.Min(destination.Length, cfg.Length - offset);
        // Stryker restore all
        cfg.Slice(offset, n).CopyTo(destination);
    }

    /// <summary>Records a virtqueue's size and ring addresses; checked when the device starts using it.</summary>
    public void ConfigureQueue(int vq, QueueRegisters registers)
    {
        // Stryker disable all : out of reach: a transport offers only its own queue indices and caps queue_size at the maximum it shows, so the device never sees these from a driver (tests/Reference covers the checks)
        if (vq < 0 || vq >= NumQueues) throw new ArgumentOutOfRangeException(nameof(vq), vq, $"the device has {NumQueues} virtqueues");
        if (registers.Size > _options.QueueMaxSize)
            throw new ArgumentOutOfRangeException(nameof(registers), registers.Size, $"queue size is at most {_options.QueueMaxSize}");
        // Stryker restore all
        _registers[vq] = registers;
        // A driver sets its queues up before DRIVER_OK (§3.1.1 step 7); only a re-enable after a queue reset comes later.
        if ((Status & DeviceStatus.DriverOk) != 0) Activate(vq);
    }

    /// <summary>
    /// Resets one virtqueue (VIRTIO_F_RING_RESET, §2.6.1): the device stops using it at once and forgets its registers,
    /// so it neither serves nor notifies it (§2.6.1.1.1) until <see cref="ConfigureQueue"/> enables it again from the
    /// default state. Without RING_RESET negotiated the request is ignored.
    /// </summary>
    public void ResetQueue(int vq)
    {
        if (!Negotiated.Has(FeatureBit.RingReset))
        {
            Note($"queue_reset of virtqueue {vq} without VIRTIO_F_RING_RESET negotiated; ignored");
            return;
        }
        _registers.Remove(vq);
        _seams.Lifecycle.ResetQueue(vq, StopQueue);
    }

    private void StopQueue(int vq)
    {
        if (RoleOf(vq) == QueueRole.Control) _controlq = null;
        else if (vq < 2 * _options.MaxPairs) _dataPlane.StopQueue(vq);
    }

    /// <summary>queue_enable as a transport shows it: set up and not reset since.</summary>
    public bool QueueEnabled(int vq) => _registers.ContainsKey(vq);

    /// <summary>The driver's available buffer notification (a kick) for one virtqueue.</summary>
    public void Notify(int vq)
    {
        // One read: over vhost-user each read of Status drains the back-end's error eventfd, a syscall per kick.
        _seams.Lifecycle.Kick(vq, Status, this);
    }

    // Stryker disable all : out of reach: a live device has started every ring the driver set up; only a deviation serves kicks before that (reference/Zoo)
    void IKickSteps.StartIfSetUp(int vq)
    {
        if (_registers.ContainsKey(vq) && !IsActive(vq)) Activate(vq);
    }

    private bool IsActive(int vq) => RoleOf(vq) == QueueRole.Control ? _controlq is not null : _dataPlane.IsStarted(vq);
    // Stryker restore all

    void IKickSteps.Serve(int vq) => Process(vq);

    private void Reset()
    {
        Status = DeviceStatus.None;
        Negotiated = FeatureSet.Empty;
        _driverFeatures = FeatureSet.Empty;
        _seams.Lifecycle.Reset(this);
    }

    void IResetSteps.ForgetRings()
    {
        _registers.Clear();
        _controlq = null;
        _dataPlane.Reset();
    }

    void IResetSteps.ForgetMultiqueueState()
    {
        CurrentPairs = 1;
        _scaling.Forget();
    }

    ReceiveScaling IControlTarget.Scaling => _scaling;

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
        _scaling.Negotiated = f;
        return true;
    }

    private void Start()
    {
        _seams.Lifecycle.Started();
        // Stryker disable once Linq : equivalent: the order the rings start in is not visible before any of them is served
        foreach (var vq in _registers.Keys.Order().ToList()) Activate(vq);
        ApplyPairs();
        // The device may look at buffers as soon as avail idx exposes them (§2.7.13.3), so start with
        // whatever was queued before DRIVER_OK.
        // Stryker disable once all : equivalent: looking at buffers without a kick is a MAY, and a driver kicks what it queued before DRIVER_OK once it is set
        foreach (var vq in _registers.Keys.Order().ToList()) Process(vq);
    }

    /// <summary>Enables the rings of pairs 1..CurrentPairs in the data plane and disables the others.</summary>
    private void ApplyPairs()
    {
        // Stryker disable once Equality : equivalent: the controlq index is no data ring, and the receiveq of the pair above CurrentPairs gets no flow, since its transmitq stays disabled
        for (var vq = 0; vq < 2 * _options.MaxPairs; vq++) _dataPlane.SetEnabled(vq, vq < 2 * CurrentPairs);
    }

    private void Activate(int vq)
    {
        var r = _registers[vq];
        if (RoleOf(vq) == QueueRole.Control)
        {
            try
            {
                _controlq = IDeviceVirtqueue.Create(_memory, vq, r, Negotiated, _seams.Rings, _seams.PackedRings, _seams.InOrder);
                // Stryker disable once all : equivalent: the driver zeroes the controlq ring it sets up, so a split ring's used idx starts at 0 either way
                _controlq.Resume(null);
            }
            catch (ChainError e)
            {
                Note(e.Message);
            }
        }
        // Stryker disable once Equality : equivalent: index 2N is a data ring only in no layout, and a driver sets up no queue there without MQ
        else if (vq < 2 * _options.MaxPairs)
        {
            _dataPlane.StartQueue(vq, r, Negotiated);
        }
    }

    /// <summary>What the device takes virtqueue <paramref name="vq"/> to be under the layout negotiated.</summary>
    private QueueRole RoleOf(int vq) => _seams.Roles.RoleOf(vq, Layout, Negotiated);

    private void Process(int vq)
    {
        switch (RoleOf(vq))
        {
            case QueueRole.Control:
                if (_controlq is { } q)
                {
                    DrainControlq(q);
                    if (q.TakeNotificationDue()) UsedBufferNotification?.Invoke(q.Index);
                }
                break;
            case QueueRole.Receive or QueueRole.Transmit:
                _dataPlane.Notify(vq);
                break;
            default:
                Note($"kick on virtqueue {vq}, which the negotiated layout does not define");
                break;
        }
    }

    void IControlTarget.Note(string message) => Note(message);

    // Stryker disable all : the device's log of refused input is diagnostics; no driver can read it
    private void Note(string message)
    {
        if (_log.Count >= 1000) _log.RemoveAt(0);
        _log.Add(message);
    }
    // Stryker restore all
}
