using System.Globalization;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Adapters.VhostUser.FrontEnd;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.Platform;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Adapters.VhostUser;

/// <summary>
/// A device reached over a vhost-user socket (<c>vhost-user:///path.sock?pairs=N</c>). Like QEMU, the suite
/// is the front-end: it owns the virtio-net device model (status, features, config space, the controlq) and
/// hands the receiveqs and transmitqs to the back-end, which is the device under test for the data plane.
/// With <c>server=1</c> the suite listens on the path and the back-end connects, once per session (<see cref="ServerSockets"/>).
/// </summary>
public sealed class VhostUserDevice : IVirtioDevice, IVhostUserBackEnd, IQueueReset, IBackEndReconnect
{
    public const ulong GuestBase = GuestRam.Base;

    private readonly VhostUserConnection _connection;
    private readonly GuestRam _ram;
    private readonly VhostUserDataPlane _plane;
    private readonly NetFrontEnd _model;
    private readonly EventFd _modelNotify = EventFd.Create();

    public VhostUserDevice(DeviceUri uri)
    {
        Uri = uri;
        if (string.IsNullOrEmpty(uri.Path) || uri.Path == "/")
            throw new FormatException($"device URI '{uri}' names no socket; expected vhost-user:///path/to.sock?pairs=N");
        var timeout = TimeSpan.FromMilliseconds(uri.GetInt("timeout-ms", 5000));
        var connectTimeout = TimeSpan.FromMilliseconds(uri.GetInt("connect-timeout", 5000));
        ServerMode = uri.Get("server") is { } server && server is "1" or "on" or "true" or "yes";
        _connection = ServerMode ? VhostUserConnection.Accept(uri.Path, connectTimeout, timeout) : VhostUserConnection.Open(uri.Path, connectTimeout, timeout);
        try
        {
            (BackendFeatures, ProtocolFeatures, QueueNum) = Handshake(_connection);
            var requested = uri.Get("pairs") is null ? (int?)null : uri.GetInt("pairs", 1);
            // QEMU would refuse to start here; the suite goes on so that vu.mq.get-queue-num-reply can report it.
            Pairs = requested ?? (int)Math.Clamp(QueueNum ?? 1, 1, 128);
            if (Pairs is < 1 or > 128)
                throw new FormatException($"device URI '{uri}': pairs={Pairs}; vhost-user addresses at most 128 queue pairs (8-bit vring index)");

            // Small by default: some back-ends (DPDK) touch every page of the table they map, on every connection.
            var bytes = (long)uri.GetInt("memory-mib", 32) << 20;
            _ram = new GuestRam("virtio-mq-vhost-user-ram", bytes);
            _plane = new VhostUserDataPlane(_connection, _ram.Device, new MemoryTableSource(_ram.DriverMapping, GuestBase), BackendFeatures)
            {
                QueueNum = QueueNum,
            };
            _model = new NetFrontEnd(Pairs, QueueMaxSize, _ram.Device, _plane, Offered(BackendFeatures));
            _plane.Negotiated = () => _model.Negotiated;
            _model.ControlqNotification += _ => _modelNotify.Signal();
            SettleTime = TimeSpan.FromMilliseconds(uri.GetInt("settle-ms", 25));
            Capabilities = new DeviceCapabilities().With<IVhostUserBackEnd>(this).With<IRingSuspension>(_plane).With<IRingEnable>(_plane)
                .With<IRingStartIndex>(_plane).With<IQueueReset>(this);
            // Only a listening front-end sees a back-end come back: in client mode nobody would connect again.
            if (ServerMode) Capabilities = Capabilities.With<IBackEndReconnect>(this);
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
        Identity = new Dictionary<string, string>
        {
            ["kind"] = "vhost-user back-end (suite is the front-end and the virtio-net device model)",
            ["socket"] = uri.Path,
            ["mode"] = ServerMode ? "server: the suite listens, the back-end connects" : "client: the back-end listens, the suite connects",
            ["back-end features"] = $"0x{BackendFeatures.Low64:x} {BackendFeatures}",
            ["protocol features"] = $"0x{ProtocolFeatures:x}",
            ["GET_QUEUE_NUM"] = QueueNum?.ToString(CultureInfo.InvariantCulture) ?? "not offered (no VHOST_USER_PROTOCOL_F_MQ)",
            ["max_virtqueue_pairs"] = Pairs.ToString(CultureInfo.InvariantCulture),
        };
    }

    public DeviceUri Uri { get; }

    /// <summary>Whether the suite listens and the back-end connects (<c>server=1</c>), as QEMU's <c>server=on</c>.</summary>
    public bool ServerMode { get; }
    public GuestMemory Memory => _ram.Driver;
    public ulong MemoryBase => GuestBase;
    public ulong MemorySize => _ram.Size;
    public int NumQueues => _model.NumQueues;
    /// <summary>The largest ring the front-end lets the driver set up, as QEMU's default queue sizes.</summary>
    public const int QueueMaxSize = 256;
    int IVirtioDevice.QueueMaxSize => QueueMaxSize;
    public TimeSpan SettleTime { get; }
    public IReadOnlyDictionary<string, string> Identity { get; }

    public DeviceCapabilities Capabilities { get; }

    public FeatureSet BackendFeatures { get; }
    public ulong ProtocolFeatures { get; }

    /// <summary>The back-end's GET_QUEUE_NUM answer, or null when it does not offer VHOST_USER_PROTOCOL_F_MQ.</summary>
    public ulong? QueueNum { get; }

    public int Pairs { get; }
    public void Send(VhostUserRequest request, byte[] payload) => _connection.Send(request, payload);

    /// <summary>The socket itself, for the suite's own tests of the front-end.</summary>
    internal VhostUserConnection Connection => _connection;

    /// <summary>The front-end device model's own log (controlq refusals and the like).</summary>
    public IReadOnlyList<string> ModelLog => _model.Log;

    public FeatureSet ReadDeviceFeatures() => _model.DeviceFeatures;
    public void WriteDriverFeatures(FeatureSet features) => _model.WriteDriverFeatures(features);
    public DeviceStatus ReadStatus() => _model.Status;
    public void WriteStatus(DeviceStatus status) => _model.WriteStatus(status);
    public void ReadConfig(int offset, Span<byte> destination) => _model.ReadConfig(offset, destination);
    public void SetupQueue(int vq, QueueRegisters registers) => _model.SetupQueue(vq, registers);
    public void Kick(int vq) => _model.Notify(vq);

    public QueueResetOutcome ResetQueue(int vq, TimeSpan timeout)
    {
        _model.ResetQueue(vq);
        return new QueueResetOutcome(true, _model.QueueEnabled(vq));
    }

    public string? Reconnect(Func<int, uint> restartBase, TimeSpan timeout)
    {
        if (!ServerMode) throw new InvalidOperationException("only a front-end in server mode (server=1) sees its back-end connect again");
        try
        {
            _connection.Replace(() => ServerSockets.Accept(Uri.Path, timeout));
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            return $"the vhost-user back-end did not connect to {Uri.Path} again: {e.Message}";
        }
        var (features, protocol, queues) = Handshake(_connection);
        // QEMU refuses a back-end that comes back without a feature it had acked; the suite asks for the same offer.
        if (features.Low64 != BackendFeatures.Low64 || protocol != ProtocolFeatures || queues != QueueNum)
            return $"the vhost-user back-end at {Uri.Path} came back offering features 0x{features.Low64:x}, protocol features 0x{protocol:x}, " +
                $"GET_QUEUE_NUM {queues?.ToString(CultureInfo.InvariantCulture) ?? "none"}; before it offered 0x{BackendFeatures.Low64:x}, 0x{ProtocolFeatures:x}, " +
                $"{QueueNum?.ToString(CultureInfo.InvariantCulture) ?? "none"}";
        _plane.Restore(restartBase);
        return null;
    }

    public bool WaitForNotification(TimeSpan timeout)
    {
        var fds = _plane.CallFds.Append(_modelNotify).ToList();
        var ready = PollSet.WaitReadable(fds.Select(f => f.Fd).ToList(), timeout);
        foreach (var f in fds)
            if (ready.Contains(f.Fd)) f.Drain();
        return ready.Count > 0;
    }

    /// <summary>GET_FEATURES, protocol features (MQ, REPLY_ACK, RESET_DEVICE where offered), GET_QUEUE_NUM.</summary>
    private static (FeatureSet, ulong, ulong?) Handshake(VhostUserConnection c)
    {
        c.Send(VhostUserRequest.SetOwner);
        var features = FeatureSet.FromLow64(c.CallU64(VhostUserRequest.GetFeatures));
        if (!features.Has(FeatureBit.ProtocolFeatures)) return (features, 0, null);
        var offered = c.CallU64(VhostUserRequest.GetProtocolFeatures);
        var wanted = offered & (1UL << VhostUserProtocolFeature.Mq | 1UL << VhostUserProtocolFeature.ReplyAck | 1UL << VhostUserProtocolFeature.ResetDevice);
        c.Send(VhostUserRequest.SetProtocolFeatures, Payload.U64(wanted));
        c.ProtocolFeatures = wanted;
        ulong? queues = (wanted & (1UL << VhostUserProtocolFeature.Mq)) != 0 ? c.CallU64(VhostUserRequest.GetQueueNum) : null;
        return (features, wanted, queues);
    }

    /// <summary>
    /// What the device offers the driver: the front-end's own features (MAC, status, the controlq, multiqueue), and
    /// of the ring features those the back-end has, since the back-end runs the rings. As QEMU does, multiqueue is
    /// offered only when the back-end has it: a single-queue back-end makes a single-queue device, and a verdict that
    /// says there is no multiqueue to certify. VIRTIO_F_RING_PACKED too: the front-end serves its controlq in either
    /// format, and the negotiated bit goes on to the back-end with the others it has.
    /// </summary>
    private static FeatureSet Offered(FeatureSet backend)
    {
        // Per-queue reset is the front-end's to offer: it carries it out with GET_VRING_BASE, which every back-end has.
        var offered = FeatureSet.Of(FeatureBit.NetMac, FeatureBit.NetStatus, FeatureBit.NetCtrlVq, FeatureBit.RingReset);
        foreach (var f in new[] { FeatureBit.EventIdx, FeatureBit.IndirectDesc, FeatureBit.Version1, FeatureBit.NetMq, FeatureBit.RingPacked, FeatureBit.InOrder })
            if (backend.Has(f)) offered = offered.With(f);
        return offered;
    }

    public void Dispose()
    {
        _plane.Dispose();
        _connection.Dispose();
        _ram.Dispose();
        _modelNotify.Dispose();
    }
}
