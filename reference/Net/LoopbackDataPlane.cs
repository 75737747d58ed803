using VirtioMq.Reference.Seams;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Reference.Net;

/// <summary>
/// The reference data path: a frame sent on transmitq k comes back on the receiveq automatic receive
/// steering picks among the enabled ones (§5.1.9.5.6). The in-process device and the vhost-user back-end
/// both run their rings through this class, so they behave the same.
/// </summary>
/// <remarks>
/// Not thread-safe: its owner serialises calls, as a device's single event loop would. <paramref name="counters"/>
/// may outlive the plane: a vhost-user session rebuilds its plane on a new memory table and keeps counting.
/// </remarks>
public sealed class LoopbackDataPlane(GuestMemory memory, ReferenceOptions options, Action<string> note, RingCounters? counters = null)
    : IResetSteps
{
    /// <summary>Largest frame taken from a transmitq: a 64 KiB GSO frame plus the header.</summary>
    private const int MaxTxBytes = 65550 + SplitRing.NetHeaderSize;

    /// <summary>Transmit buffers returned per publication of used idx: a burst, as DPDK's own vhost does.</summary>
    private const int Burst = 32;

    private readonly Dictionary<int, IDeviceVirtqueue> _rings = [];
    private readonly HashSet<int> _enabled = [];
    private readonly SortedSet<int> _enabledReceivePairs = [];
    private readonly DeviceSeams _seams = DeviceSeams.For(options);
    // Stryker disable once all : out of reach: counters feed --stats and the driver-recording judge, no device run reads them (tests/Reference/RingCountersTests)
    private readonly RingCounters _counters = counters ?? RingCounters.WithoutHistory();
    private readonly HashSet<int> _backlog = [];
    // Pairs whose receiveq the driver reset (VIRTIO_F_RING_RESET), or a vhost-user front-end stopped, and that were not
    // started again: no frame goes there (§2.6.1.1.1).
    private readonly HashSet<int> _resetReceivePairs = [];
    // The virtio-net header size on both rings: 12 bytes, 20 once HASH_REPORT is negotiated (§5.1.9).
    private int _header = SplitRing.NetHeaderSize;

    // The data path takes every frame into this one buffer and delivers it from there, instead of allocating
    // two arrays per frame.
    private readonly byte[] _frame = new byte[MaxTxBytes];

    /// <summary>The hashing state RSS_CONFIG and HASH_CONFIG set; null for a device that has no controlq of its own (a vhost-user back-end).</summary>
    public ReceiveScaling? Scaling { get; init; }

    /// <summary>Raised with the ring index whenever a used buffer notification is due.</summary>
    public event Action<int>? UsedBufferNotification;

    /// <summary>True once a ring proved unusable (the driver exposed more buffers than it holds).</summary>
    public bool NeedsReset { get; private set; }

    /// <summary>
    /// With a value, a transmitq gives up its turn after that many buffers and the rest waits for
    /// <see cref="ServeBacklog"/>: a front-end that keeps one ring full cannot hold the thread, so messages and
    /// the other rings get their turn. The vhost-user back-end sets it; in-process (null) a kick drains the ring.
    /// </summary>
    public int? TurnBudget { get; init; }

    // Stryker disable all : used only by the vhost-user back-end, which the in-process suite never runs (tests/VhostUser covers it)
    /// <summary>Whether a ring was left with buffers at the end of its turn (only with a <see cref="TurnBudget"/>).</summary>
    public bool HasBacklog => _backlog.Count > 0;
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
            var q = IDeviceVirtqueue.Create(memory, vq, registers, negotiated, _seams.Rings, _seams.PackedRings, _seams.InOrder);
            q.Resume(vringBase);
            _rings[vq] = q;
        }
        catch (Exception e) when (e is ChainError or GuestMemoryFault)
        {
            note(e.Message);
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
        _backlog.Remove(vq);
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
        _backlog.Clear();
        // Stryker restore all
        NeedsReset = false;
    }

    void IResetSteps.ForgetMultiqueueState()
    {
        // Stryker disable all : equivalent for a driver that kicks and enables only queues it set up: ApplyPairs rewrites every enable bit at DRIVER_OK, the counters are diagnostics, and a flow is looked up only right after it was sent again
        foreach (var vq in _enabled) _counters.SetEnabled(vq, false);
        _enabled.Clear();
        _enabledReceivePairs.Clear();
        _resetReceivePairs.Clear();
        _seams.Steering.Forget();
        // Stryker restore all
    }

    /// <summary>The driver's available buffer notification for a data virtqueue.</summary>
    public void Notify(int vq)
    {
        if (_rings.TryGetValue(vq, out var q)) Serve(q);
    }

    // Stryker disable all : used only by the vhost-user back-end, which the in-process suite never runs (tests/VhostUser covers it)
    /// <summary>Gives every ring left with buffers at the end of its last turn another turn.</summary>
    public void ServeBacklog()
    {
        foreach (var vq in _backlog.ToArray())
        {
            if (_rings.TryGetValue(vq, out var q)) Serve(q);
            else _backlog.Remove(vq);
        }
    }

    /// <summary>Whether ring <paramref name="vq"/> is started and was found overrun (see <see cref="NeedsReset"/>).</summary>
    // Stryker disable once all : used only by the vhost-user back-end, which the in-process suite never runs (tests/VhostUser covers it)
    public bool IsBroken(int vq) => _rings.TryGetValue(vq, out var q) && q.Broken;
    // Stryker restore all

    private void Serve(IDeviceVirtqueue q)
    {
        // Receive buffers just wait for frames; only a transmitq has work to do on a kick.
        // Stryker disable once all : used only by the vhost-user back-end; in-process TurnBudget is null, so the budget is unlimited
        var budget = TurnBudget ?? int.MaxValue;
        var unfinished = !_seams.Roles.IsReceiveq(q.Index) && _seams.Transmit.Drains(_enabled.Contains(q.Index)) && DrainTransmitq(q, budget);
        // Stryker disable all : used only by the vhost-user back-end, which the in-process suite never runs (tests/VhostUser covers it): in-process the budget is unlimited, so a turn never ends unfinished
        if (unfinished) _backlog.Add(q.Index);
        else _backlog.Remove(q.Index);
        // Stryker restore all
        RaiseIfDue(q);
    }

    private static int PairOf(int vq) => vq / 2 + 1;

    // The receive rings frames went to since their used buffers were last published: published with the transmitq's, a
    // burst at a time, so the driver's used idx (or used flags) cache line moves once per burst, and an in-order ring can
    // return the receive buffers a burst filled whole as one batch.
    private readonly List<IDeviceVirtqueue> _receivedInto = [];

    private void PublishReceived()
    {
        foreach (var q in _receivedInto)
        {
            q.PublishUsed();
            RaiseIfDue(q);
        }
        _receivedInto.Clear();
    }

    /// <summary>Takes up to <paramref name="budget"/> buffers; true when it stopped with buffers still waiting.</summary>
    private bool DrainTransmitq(IDeviceVirtqueue q, int budget)
    {
        var pair = PairOf(q.Index);
        var enabled = _enabled.Contains(q.Index);
        var transmit = _seams.Transmit;
        var taken = 0;
        // Stryker disable once Equality : used only by the vhost-user back-end's budget; in-process the budget is int.MaxValue
        while (taken < budget && TryPop(q) is { } chain)
        {
            // Buffers go back in bursts: what was taken so far becomes visible every Burst buffers.
            // Stryker disable once all : equivalent: publishing used idx earlier or later within a drain is allowed, and every drain ends with a publication
            if (++taken % Burst == 0)
            {
                q.PublishUsed();
                PublishReceived();
            }
            if (!transmit.ReturnsBuffer(enabled)) continue;
            int length;
            try
            {
                length = transmit.Gather(chain, memory, _frame);
            }
            // Stryker disable all : out of reach: Walk checked every segment against guest memory, so the copy cannot fault unless the vhost-user memory table is replaced under a running ring (tests/VhostUser)
            catch (GuestMemoryFault e)
            {
                note($"transmitq{pair}: {e.Message}");
                q.AddUsed(chain.Handle, 0);
                continue;
            }
            // Stryker restore all
            // A transmit buffer is only read, so the used length is 0 (§2.7.8.2 counts written bytes).
            q.AddUsed(chain.Handle, 0);
            // Stryker disable once Equality : equivalent: a header with no frame behind it breaks no rule the spec gives the driver, so carrying it or dropping it are both right
            if (length < _header)
            {
                note($"transmitq{pair}: {length}-byte buffer is shorter than the {_header}-byte virtio-net header");
                continue;
            }
            // Stryker disable once all : out of reach: counters feed --stats and the driver-recording judge, no device run reads them (tests/Reference/RingCountersTests)
            _counters.CountFrame(q.Index, enabled);
            // A disabled transmit ring is drained but its frames go nowhere (vhost-user "started but disabled").
            // Stryker disable once all : equivalent in-process (see SetEnabled); over vhost-user vu.ring.disabled-tx-discard judges it
            if (transmit.Forwards(enabled)) Transmitted(pair, length);
        }
        if (transmit.PublishesAtEnd(taken)) q.PublishUsed();
        PublishReceived();
        // Stryker disable once all : used only by the vhost-user back-end (see TurnBudget); in-process the budget is never reached
        return taken == budget && q.HasAvailable;
    }

    /// <summary>Steers the frame in _frame[0..length) (virtio-net header first), sent on transmitq<paramref name="pair"/>, to a receive ring.</summary>
    private void Transmitted(int pair, int length)
    {
        // Stryker disable once Arithmetic : equivalent: the flow key reads only the headers at the front of the frame
        var frame = _frame.AsSpan(_header, length - _header);
        var scaling = Scaling;
        var outcome = HashOutcome.NotHashed;
        if (scaling is not null && (scaling.ReportsHash || scaling.SteersByRss))
        {
            var (types, key) = scaling.Parameters;
            outcome = _seams.Hashing.Hash(frame, types, key);
        }
        var receivePairs = ReceivePairs();
        int? rxPair;
        if (scaling is { SteersByRss: true, Rss: { } rss })
        {
            // RSS names one queue; if it is being reset the packet is dropped, not moved (§5.1.9.5.7.3).
            var chosen = _seams.Hashing.Select(rss, outcome);
            rxPair = receivePairs.Contains(chosen) ? chosen : null;
        }
        else
        {
            // Automatic steering picks among the receiveqs not being reset, and drops only when all are (§5.1.9.5.6.2).
            rxPair = _seams.Steering.Select(FlowKey.Of(frame), pair, receivePairs);
        }
        if (rxPair is { } rx)
        {
            for (var copy = 0; copy < _seams.Receive.Copies; copy++) Deliver(rx, length, outcome);
        }
        // Stryker disable once all : out of reach: counters feed --stats and the driver-recording judge, no device run reads them (tests/Reference/RingCountersTests)
        else
        {
            // Stryker disable once all : out of reach: counters feed --stats and the driver-recording judge, no device run reads them (tests/Reference/RingCountersTests)
            _counters.CountDropped();
        }
    }

    /// <summary>The receive pairs a frame may go to: enabled, and not reset by the driver since.</summary>
    private SortedSet<int> ReceivePairs()
    {
        if (_resetReceivePairs.Count == 0) return _enabledReceivePairs;
        var pairs = new SortedSet<int>(_enabledReceivePairs);
        pairs.ExceptWith(_resetReceivePairs);
        return pairs;
    }

    /// <summary>Puts the frame in _frame[0..length) on the receive ring of <paramref name="pair"/>.</summary>
    private void Deliver(int pair, int length, HashOutcome outcome)
    {
        var ring = _seams.Roles.Receiveq(pair);
        if (!_rings.TryGetValue(ring, out var q) || TryPop(q) is not { } chain)
        {
            // Stryker disable once all : out of reach: counters feed --stats and the driver-recording judge, no device run reads them (tests/Reference/RingCountersTests)
            _counters.CountDropped();
            return;
        }
        // The packet is the frame behind a fresh header, written over the transmit header in place (both are the same size).
        var packet = _frame.AsSpan(0, length);
        _seams.Receive.WriteHeader(packet[.._header]);
        if (Scaling is { ReportsHash: true }) _seams.Receive.WriteHash(packet[.._header], outcome);
        if (chain.WritableLength < packet.Length)
        {
            note($"receiveq{pair}: {chain.WritableLength}-byte buffer cannot hold a {packet.Length}-byte packet; dropped");
            // Stryker disable once all : equivalent: without MRG_RXBUF a receive buffer too small for the packet is the driver's fault (net.rx.drv.buffer-size) and the spec fixes no answer; one kept back and one lost look alike to a driver until it resets
            q.AddUsed(chain.Handle, 0);
            // Stryker disable once all : out of reach: counters feed --stats and the driver-recording judge, no device run reads them (tests/Reference/RingCountersTests)
            _counters.CountDropped();
        }
        else
        {
            q.AddUsed(chain.Handle, _seams.Receive.UsedLength(chain.Write(memory, packet)));
            // Counted whether or not the ring is enabled: only a buggy device delivers to a disabled one.
            // Stryker disable once all : out of reach: counters feed --stats and the driver-recording judge, no device run reads them (tests/Reference/RingCountersTests)
            _counters.CountFrame(ring, _enabled.Contains(ring));
        }
        if (!_receivedInto.Contains(q)) _receivedInto.Add(q);
    }

    private DescriptorChain? TryPop(IDeviceVirtqueue q)
    {
        while (true)
        {
            try
            {
                return q.Pop();
            }
            catch (ChainError e)
            {
                note(e.Message);
                if (q.Broken)
                {
                    NeedsReset = true;
                    return null;
                }
            }
        }
    }

    private void RaiseIfDue(IDeviceVirtqueue q)
    {
        if (q.TakeNotificationDue()) UsedBufferNotification?.Invoke(q.Index);
    }
}
