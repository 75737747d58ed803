using System.Buffers.Binary;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.VhostUser.FrontEnd;

/// <summary>
/// The virtio-net device model the suite plays in front of a vhost-user back-end, as QEMU's virtio-net plays it in
/// front of vhost-net: status, features, config space and the controlq live here; the receiveqs and transmitqs
/// are handed to the back-end. It is the suite's own harness, not a device under test: over vhost-user the reports
/// say that checks of this plane judge the suite's front-end.
/// </summary>
/// <remarks>Not thread-safe: the suite's driver calls it from one thread, as a VMM's event loop would.</remarks>
internal sealed class NetFrontEnd
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];

    private readonly GuestMemory _memory;
    private readonly VhostUserDataPlane _backend;
    private readonly Dictionary<int, QueueRegisters> _queues = [];
    private readonly List<string> _log = [];
    private IControlqRing? _controlq;
    private FeatureSet _driverFeatures = FeatureSet.Empty;
    private DeviceStatus _status;
    private int _pairs = 1;

    /// <param name="offered">What the device offers: the back-end's ring features and the front-end's own.</param>
    public NetFrontEnd(int maxPairs, int queueMaxSize, GuestMemory memory, VhostUserDataPlane backend, FeatureSet offered)
    {
        MaxPairs = maxPairs;
        QueueMaxSize = queueMaxSize;
        _memory = memory;
        _backend = backend;
        DeviceFeatures = offered;
    }

    /// <summary>Raised with the controlq's index when the driver is owed a used buffer notification for it.</summary>
    public event Action<int>? ControlqNotification;

    public int MaxPairs { get; }
    public int QueueMaxSize { get; }
    public FeatureSet DeviceFeatures { get; }
    public FeatureSet Negotiated { get; private set; } = FeatureSet.Empty;

    /// <summary>Every pair's two rings and the controlq.</summary>
    public int NumQueues => 2 * MaxPairs + 1;

    /// <summary>Why the front-end refused guest input, newest last, at most 1000 lines.</summary>
    public IReadOnlyList<string> Log => _log;

    /// <summary>
    /// DEVICE_NEEDS_RESET joins the status once a ring proved unusable: the controlq here, or a data ring the
    /// back-end reported on its error eventfd, at a moment of its own, so it is looked at on every read.
    /// </summary>
    public DeviceStatus Status
    {
        get
        {
            if (_status.HasFlag(DeviceStatus.DriverOk) && (_backend.NeedsReset || _controlq is { Broken: true }))
                _status |= DeviceStatus.DeviceNeedsReset;
            return _status;
        }
    }

    private NetQueueLayout Layout => NetQueueLayout.For(Negotiated, MaxPairs);

    public void WriteDriverFeatures(FeatureSet features)
    {
        // Negotiation closes at FEATURES_OK; a reset opens it again (§2.2).
        if (!_status.HasFlag(DeviceStatus.FeaturesOk)) _driverFeatures = features;
    }

    public void WriteStatus(DeviceStatus value)
    {
        if (value == DeviceStatus.None)
        {
            Reset();
            return;
        }
        var rising = value & ~_status;
        if (rising.HasFlag(DeviceStatus.FeaturesOk) && !Accept(_driverFeatures)) value &= ~DeviceStatus.FeaturesOk;
        _status = value;
        if (rising.HasFlag(DeviceStatus.DriverOk) && value.HasFlag(DeviceStatus.FeaturesOk)) Start();
    }

    /// <summary>The config space of §5.1.4: mac, status (link up), max_virtqueue_pairs; zeros past it.</summary>
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> config = stackalloc byte[NetConfig.Size];
        Mac.CopyTo(config);
        BinaryPrimitives.WriteUInt16LittleEndian(config[NetConfig.StatusOffset..], NetConfig.StatusLinkUp);
        BinaryPrimitives.WriteUInt16LittleEndian(config[NetConfig.MaxVirtqueuePairsOffset..], (ushort)MaxPairs);
        destination.Clear();
        if (offset >= 0 && offset < config.Length)
            config[offset..Math.Min(config.Length, offset + destination.Length)].CopyTo(destination);
    }

    public void SetupQueue(int vq, QueueRegisters registers)
    {
        if (vq < 0 || vq >= NumQueues) throw new ArgumentOutOfRangeException(nameof(vq), vq, $"the device has {NumQueues} virtqueues");
        if (registers.Size > QueueMaxSize) throw new ArgumentOutOfRangeException(nameof(registers), registers.Size, $"queue size is at most {QueueMaxSize}");
        _queues[vq] = registers;
        if (!_status.HasFlag(DeviceStatus.DriverOk)) return;
        // Set up after DRIVER_OK: a queue enabled again after its reset.
        Activate(vq);
        if (vq < 2 * MaxPairs) _backend.RestateEnable(vq);
    }

    /// <summary>
    /// VIRTIO_F_RING_RESET (§2.6.1) on a device whose rings a back-end runs: the front-end forgets the queue and stops the
    /// back-end's ring (GET_VRING_BASE); the driver may enable it again with new addresses, which start where a ring
    /// starts after a reset: index 0 for a split ring, offset 0 with both wrap counters 1 for a packed one (unless the
    /// driver announced another place with IRingStartIndex).
    /// </summary>
    public void ResetQueue(int vq)
    {
        if (!Negotiated.Has(FeatureBit.RingReset))
        {
            Note($"queue reset of vq {vq} without VIRTIO_F_RING_RESET negotiated; ignored");
            return;
        }
        _queues.Remove(vq);
        if (Layout.Identify(vq).Role == QueueRole.Control) _controlq = null;
        else if (vq < 2 * MaxPairs) _backend.ResetRing(vq);
    }

    public bool QueueEnabled(int vq) => _queues.ContainsKey(vq);

    /// <summary>An available buffer notification: served here for the controlq, passed to the back-end for the others.</summary>
    public void Notify(int vq)
    {
        var status = Status;
        // Nothing is used before DRIVER_OK (§2.1.2), nor while the device needs a reset.
        if (!status.HasFlag(DeviceStatus.DriverOk) || status.HasFlag(DeviceStatus.DeviceNeedsReset)) return;
        switch (Layout.Identify(vq).Role)
        {
            case QueueRole.Control:
                ServeControlq();
                break;
            case QueueRole.Receive or QueueRole.Transmit:
                _backend.Notify(vq);
                break;
            default:
                Note($"kick on virtqueue {vq}, which the negotiated features give no role");
                break;
        }
    }

    private bool Accept(FeatureSet f)
    {
        var why = !f.IsSubsetOf(DeviceFeatures) ? $"the driver accepted features not offered: {f}"
            : !f.Has(FeatureBit.Version1) ? "the driver did not accept VIRTIO_F_VERSION_1 (no legacy interface here)"
            : FeatureRules.FirstUnsatisfied(f) is { } u ? $"{u.Feature} needs {u.Missing}"
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
        foreach (var vq in _queues.Keys.Order().ToList()) Activate(vq);
        EnablePairs();
        // Buffers made available before DRIVER_OK may be used now (§2.7.13.3).
        foreach (var vq in _queues.Keys.Order().ToList()) Notify(vq);
    }

    private void Activate(int vq)
    {
        var ring = _queues[vq];
        if (Layout.Identify(vq).Role == QueueRole.Control)
        {
            try
            {
                var (eventIdx, indirect) = (Negotiated.Has(FeatureBit.EventIdx), Negotiated.Has(FeatureBit.IndirectDesc));
                _controlq = Negotiated.Has(FeatureBit.RingPacked)
                    ? new PackedControlqRing(_memory, ring, eventIdx, indirect)
                    : new SplitControlqRing(_memory, ring, eventIdx, indirect);
            }
            catch (ArgumentException e)
            {
                Note(e.Message);
            }
        }
        else if (vq < 2 * MaxPairs)
        {
            _backend.StartQueue(vq, ring);
        }
    }

    /// <summary>Pairs 1..virtqueue_pairs carry traffic; the back-end's other rings are disabled.</summary>
    private void EnablePairs()
    {
        for (var vq = 0; vq < 2 * MaxPairs; vq++) _backend.SetEnabled(vq, vq < 2 * _pairs);
    }

    private void Reset()
    {
        _status = DeviceStatus.None;
        Negotiated = _driverFeatures = FeatureSet.Empty;
        _queues.Clear();
        _controlq = null;
        _backend.Reset();
        _pairs = 1;
    }

    private void ServeControlq()
    {
        if (_controlq is not { } q) return;
        while (q.Take(Note) is { } request)
        {
            if (!request.HasAckBuffer)
            {
                Note("controlq: a command with no device-writable byte for its ack; given back unanswered");
                q.GiveBack(request, 0);
                continue;
            }
            q.GiveBack(request, request.WriteAck(_memory, (byte)Execute(request.Command)));
        }
        if (q.Broken) Note("controlq: the driver made more buffers available than the ring holds; DEVICE_NEEDS_RESET");
        if (q.TakeNotificationOwed()) ControlqNotification?.Invoke(Layout.ControlqIndex ?? 0);
    }

    /// <summary>§5.1.9.5: the one class this device has is MQ, and its one command VQ_PAIRS_SET.</summary>
    private NetAck Execute(byte[] command)
    {
        if (command.Length < NetControl.HeaderSize)
        {
            Note("controlq: a command shorter than class and command; answered ERR");
            return NetAck.Err;
        }
        if (command[0] != NetControl.ClassMq || command[1] != NetControl.MqVqPairsSet)
        {
            Note($"controlq: class {command[0]} command {command[1]} is not supported; answered ERR");
            return NetAck.Err;
        }
        if (!Negotiated.Has(FeatureBit.NetMq) || command.Length < NetControl.HeaderSize + 2)
        {
            Note("VQ_PAIRS_SET without MQ negotiated, or without its 2-byte virtqueue_pairs; answered ERR");
            return NetAck.Err;
        }
        int pairs = BinaryPrimitives.ReadUInt16LittleEndian(command.AsSpan(NetControl.HeaderSize));
        if (pairs < NetControl.VqPairsMin || pairs > MaxPairs)
        {
            Note($"VQ_PAIRS_SET({pairs}) outside 1..{MaxPairs}; answered ERR, pairs stay {_pairs}");
            return NetAck.Err;
        }
        // In force before the ack is given back: no frame lands above the new count once the driver sees it (§5.1.9.5.6.2).
        _pairs = pairs;
        EnablePairs();
        return NetAck.Ok;
    }

    private void Note(string message)
    {
        if (_log.Count >= 1000) _log.RemoveAt(0);
        _log.Add(message);
    }
}
