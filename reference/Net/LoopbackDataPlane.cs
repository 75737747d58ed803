using VirtioMq.Reference.Seams;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Reference.Net;

/// <summary>
/// The reference data path: a frame sent on transmitq k comes back on the receiveq automatic receive
/// steering picks among the enabled ones (§5.1.9.5.6). The in-process device and the vhost-user back-end
/// both run their rings through this class, so they behave the same.
/// </summary>
/// <remarks>
/// This part holds what every ring shares: which rings are started and enabled, and which receive pairs are reset.
/// Only its owner changes that, with no frame moving (a device's event loop, or a vhost-user session holding every
/// worker back). Frames move through a <see cref="Lane"/>: one per thread that serves rings. With one lane (the
/// default) one thread owns the whole plane, as a device's single event loop would. The counters may
/// outlive the plane: a vhost-user session rebuilds its plane on a new memory table and keeps counting.
/// </remarks>
public sealed partial class LoopbackDataPlane : IResetSteps
{
    private readonly GuestMemory _memory;
    private readonly Action<string> _note;
    private readonly Dictionary<int, IDeviceVirtqueue> _rings = [];
    private readonly HashSet<int> _enabled = [];
    private readonly SortedSet<int> _enabledReceivePairs = [];
    private readonly DeviceSeams _seams;
    private readonly RingCounters _counters;
    // Pairs whose receiveq the driver reset (VIRTIO_F_RING_RESET), or a vhost-user front-end stopped, and that were not
    // started again: no frame goes there (§2.6.1.1.1).
    private readonly HashSet<int> _resetReceivePairs = [];
    private readonly Lane[] _lanes;
    // True with more than one lane: a receive ring may then be filled by another lane's transmitq, so every use of a
    // receive ring takes its lock. One lane takes none.
    private readonly bool _shared;
    // The virtio-net header size on both rings: 12 bytes, 20 once HASH_REPORT is negotiated (§5.1.9).
    private int _header = SplitRing.NetHeaderSize;
    private volatile bool _needsReset;

    /// <param name="lanes">Threads that will serve rings at once, each through its own <see cref="Lane"/> (<see cref="LaneAt"/>).</param>
    public LoopbackDataPlane(GuestMemory memory, ReferenceOptions options, Action<string> note, RingCounters? counters = null, int lanes = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        _memory = memory;
        _note = note;
        _seams = DeviceSeams.For(options);
        // Stryker disable once all : out of reach: counters feed --stats and the driver-recording judge, no device run reads them (tests/Reference/RingCountersTests)
        _counters = counters ?? RingCounters.WithoutHistory();
        _shared = lanes > 1;
        _counters.Reserve(0, lanes);
        // The first lane shares the plane's seams; each other lane gets seams of its own, so a part that keeps state (the
        // flow table) is never used by two threads at once.
        _lanes = [.. Enumerable.Range(0, lanes).Select(i => new Lane(this, i, i == 0 ? _seams : DeviceSeams.For(options)))];
    }

    /// <summary>The hashing state RSS_CONFIG and HASH_CONFIG set; null for a device that has no controlq of its own (a vhost-user back-end).</summary>
    public ReceiveScaling? Scaling { get; init; }

    /// <summary>Raised with the ring index whenever a used buffer notification is due; with several lanes, from any of their threads.</summary>
    public event Action<int>? UsedBufferNotification;

    /// <summary>True once a ring proved unusable (the driver exposed more buffers than it holds).</summary>
    public bool NeedsReset => _needsReset;

    /// <summary>
    /// With a value, a transmitq gives up its turn after that many buffers and the rest waits for
    /// <see cref="ServeBacklog"/>: a front-end that keeps one ring full cannot hold the thread, so messages and
    /// the other rings get their turn. The vhost-user back-end sets it; in-process (null) a kick drains the ring.
    /// </summary>
    public int? TurnBudget { get; init; }

    /// <summary>The lane thread <paramref name="index"/> (from 0) moves frames through.</summary>
    public Lane LaneAt(int index) => _lanes[index];

    // Stryker disable all : used only by the vhost-user back-end, which the in-process suite never runs (tests/VhostUser covers it)
    /// <summary>Whether a ring of the first lane was left with buffers at the end of its turn (only with a <see cref="TurnBudget"/>).</summary>
    public bool HasBacklog => _lanes[0].HasBacklog;
    // Stryker restore all

    /// <summary>Frames taken from each transmit ring and put on each receive ring, and each ring's enable history.</summary>
    public RingCounters Counters => _counters;

    /// <summary>Whether data virtqueue <paramref name="vq"/> has been started and not stopped since.</summary>
    public bool IsStarted(int vq) => _rings.ContainsKey(vq);
    public bool IsEnabled(int vq) => _enabled.Contains(vq);

    /// <summary>Starts using data virtqueue <paramref name="vq"/>, at DRIVER_OK or when it is set up after it.</summary>
    public void StartQueue(int vq, QueueRegisters registers, FeatureSet negotiated) => StartQueue(vq, registers, negotiated, null);

    /// <summary>
    /// Starts a ring in the format <paramref name="negotiated"/> selects. <paramref name="vringBase"/> is where to resume
    /// (vhost-user's SET_VRING_BASE, see <see cref="IDeviceVirtqueue.VringBase"/>); without it a split ring resumes where
    /// its used idx in memory says and a packed ring starts afresh.
    /// </summary>
    public void StartQueue(int vq, QueueRegisters registers, FeatureSet negotiated, uint? vringBase)
    {
        // Stryker disable once all : equivalent in-process: a ring is started again only after a reset emptied the map; a vhost-user SET_VRING_* on a started ring is what this covers (tests/VhostUser)
        _rings.Remove(vq);
        _header = NetHeader.SizeFor(negotiated);
        if (_seams.Roles.IsReceiveq(vq)) _resetReceivePairs.Remove(PairOf(vq));
        try
        {
            var q = IDeviceVirtqueue.Create(_memory, vq, registers, negotiated, _seams.Rings, _seams.PackedRings, _seams.InOrder);
            q.Resume(vringBase);
            _rings[vq] = q;
        }
        catch (Exception e) when (e is ChainError or GuestMemoryFault)
        {
            _note(e.Message);
        }
    }

    /// <summary>
    /// Stops a ring and returns where it would have gone on (<see cref="IDeviceVirtqueue.VringBase"/>): vhost-user's GET_VRING_BASE, and the
    /// driver's reset of one virtqueue (§2.6.1), after which the ring is forgotten with whatever it held until it is
    /// started again (<see cref="StartQueue(int, QueueRegisters, FeatureSet)"/>). Meanwhile no frame is put on a receiveq
    /// stopped so.
    /// </summary>
    public uint? StopQueue(int vq)
    {
        foreach (var lane in _lanes) lane.ForgetBacklog(vq);
        if (_seams.Roles.IsReceiveq(vq)) _resetReceivePairs.Add(PairOf(vq));
        return _rings.Remove(vq, out var q) ? q.VringBase : null;
    }

    // Stryker disable all : used only by the vhost-user back-end, which the in-process suite never runs (tests/VhostUser covers it)
    /// <summary>Where a started ring would go on from (<see cref="IDeviceVirtqueue.VringBase"/>), without stopping it.</summary>
    public uint? VringBase(int vq) => _rings.TryGetValue(vq, out var q) ? q.VringBase : null;
    // Stryker restore all

    /// <summary>
    /// Enables or disables one ring. A disabled transmitq is still drained, its frames discarded; nothing is
    /// received on a disabled receiveq (the vhost-user "started but disabled" state).
    /// </summary>
    public void SetEnabled(int vq, bool enabled)
    {
        if (enabled) _enabled.Add(vq);
        // Stryker disable once all : equivalent in-process: a frame on a transmitq above the pairs may go anywhere or nowhere (the driver must not send it, §5.1.9.5.6.1); over vhost-user vu.ring.disabled-tx-discard judges it
        else _enabled.Remove(vq);
        // Stryker disable once all : out of reach: counters feed --stats and the driver-recording judge, no device run reads them (tests/Reference/RingCountersTests)
        _counters.SetEnabled(vq, enabled);
        // Stryker disable all : equivalent in a loopback device: the receive pairs only narrow the choice for a flow, and every received frame's flow was just sent on an enabled pair, whose receiveq is enabled with it (ApplyPairs toggles a pair's two rings together)
        if (!_seams.Roles.IsReceiveq(vq)) return;
        if (enabled) _enabledReceivePairs.Add(PairOf(vq));
        else _enabledReceivePairs.Remove(PairOf(vq));
        // Stryker restore all
    }

    // Stryker disable all : used only by the vhost-user back-end, which the in-process suite never runs (tests/VhostUser covers it)
    /// <summary>Enables the rings of pairs 1..<paramref name="pairs"/> and disables the rest of the first <paramref name="maxPairs"/>.</summary>
    public void SetActivePairs(int pairs, int maxPairs)
    {
        for (var vq = 0; vq < 2 * maxPairs; vq++) SetEnabled(vq, vq < 2 * pairs);
    }
    // Stryker restore all

    /// <summary>Stops every ring and forgets all per-device state: the device is reset.</summary>
    public void Reset() => _seams.Lifecycle.Reset(this);

    void IResetSteps.ForgetRings()
    {
        // Stryker disable all : equivalent for a driver that kicks and enables only queues it set up (net.mq.drv.configure-before-enable): DRIVER_OK starts every ring set up again, replacing the old one; nothing runs in between, as the device is not live; the backlog is the vhost-user back-end's
        _rings.Clear();
        foreach (var lane in _lanes) lane.ForgetBacklog();
        // Stryker restore all
        _needsReset = false;
    }

    void IResetSteps.ForgetMultiqueueState()
    {
        // Stryker disable all : equivalent for a driver that kicks and enables only queues it set up: ApplyPairs rewrites every enable bit at DRIVER_OK, the counters are diagnostics, and a flow is looked up only right after it was sent again
        foreach (var vq in _enabled) _counters.SetEnabled(vq, false);
        _enabled.Clear();
        _enabledReceivePairs.Clear();
        _resetReceivePairs.Clear();
        foreach (var lane in _lanes) lane.ForgetFlows();
        // Stryker restore all
    }

    /// <summary>The driver's available buffer notification for a data virtqueue, served on the first lane.</summary>
    public void Notify(int vq) => _lanes[0].Notify(vq);

    // Stryker disable all : used only by the vhost-user back-end, which the in-process suite never runs (tests/VhostUser covers it)
    /// <summary>Gives every ring of the first lane left with buffers at the end of its last turn another turn.</summary>
    public void ServeBacklog() => _lanes[0].ServeBacklog();

    /// <summary>Whether ring <paramref name="vq"/> is started and was found overrun (see <see cref="NeedsReset"/>).</summary>
    // Stryker disable once all : used only by the vhost-user back-end, which the in-process suite never runs (tests/VhostUser covers it)
    public bool IsBroken(int vq) => _rings.TryGetValue(vq, out var q) && q.Broken;
    // Stryker restore all

    private static int PairOf(int vq) => vq / 2 + 1;

    /// <summary>The receive pairs a frame may go to: enabled, and not reset by the driver since.</summary>
    private SortedSet<int> ReceivePairs()
    {
        if (_resetReceivePairs.Count == 0) return _enabledReceivePairs;
        var pairs = new SortedSet<int>(_enabledReceivePairs);
        pairs.ExceptWith(_resetReceivePairs);
        return pairs;
    }

    private void RaiseIfDue(IDeviceVirtqueue q)
    {
        if (q.TakeNotificationDue()) UsedBufferNotification?.Invoke(q.Index);
    }
}
