using System.Diagnostics;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.Platform;
using VirtioMq.Spec.Recording;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// One front-end connection to the reference back-end: answers the vhost-user messages and runs the rings
/// through the same loopback data plane as the in-process device. By default one thread polls the socket and
/// every kick eventfd, so messages and ring processing never race; with ring threads
/// (<see cref="ReferenceOptions.Workers"/>) the rings are served as BackendSession.Workers.cs describes.
/// </summary>
public sealed partial class BackendSession : IDisposable
{
    /// <summary>The longest the back-end waits for the rest of a message it has begun to read.</summary>
    private static readonly TimeSpan MessageTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Enable/disable events kept per session: plenty for any real front-end, bounded for a hostile one.</summary>
    private const int HistoryLimit = 10_000;

    private readonly VhostUserChannel _channel;
    private readonly ReferenceOptions _options;
    private readonly IVhostUserRules _rules;
    private readonly Action<string> _log;
    private readonly BackendMemory _memory = new();
    private readonly Vring[] _vrings;
    // Outlives _plane, which is rebuilt on every new memory table, so the counts cover the whole connection.
    private readonly RingCounters _counters = new(HistoryLimit);
    private LoopbackDataPlane _plane;
    private FeatureSet _features = FeatureSet.Empty;
    // The last features a SET_FEATURES was accepted with; unlike _features, a device reset leaves it, for the report.
    private FeatureSet _featuresAccepted = FeatureSet.Empty;
    private ulong _protocolFeatures;
    // 1 once the error eventfd was signalled; set atomically, as ring threads may find broken rings at once.
    private int _errorSignalled;
    private Dictionary<int, Vring>? _kicksByFd;
    private readonly DriverRecorder? _recorder;

    /// <param name="recordDriver">Keep a <see cref="DriverRecorder"/> of what the front-end does (`serve --record-driver`).</param>
    public BackendSession(VhostUserChannel channel, ReferenceOptions options, Action<string> log, int number = 1, bool recordDriver = false)
    {
        Number = number;
        _channel = channel;
        _options = options;
        _log = log;
        _rules = DeviceSeams.For(options).VhostUser;
        _vrings = Enumerable.Range(0, 2 * _rules.PairsAccepted(options.MaxPairs)).Select(i => new Vring(i)).ToArray();
        _counters.Reserve(_vrings.Length, options.RingThreads);
        _plane = NewPlane();
        _recorder = recordDriver ? new DriverRecorder(HistoryLimit) : null;
        EnableInitialRings();
    }

    /// <summary>What this session offers: a single-queue back-end (ReferenceOptions.Multiqueue off) leaves out VIRTIO_NET_F_MQ.</summary>
    private FeatureSet Offered => _options.Multiqueue ? OfferedFeatures : OfferedFeatures.Without(FeatureBit.NetMq);

    /// <summary>The virtio features this back-end offers: what its rings support (both formats), MQ, and the vhost-user bit.</summary>
    public static FeatureSet OfferedFeatures { get; } = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetMq,
        FeatureBit.EventIdx, FeatureBit.IndirectDesc, FeatureBit.RingPacked, FeatureBit.InOrder, FeatureBit.ProtocolFeatures);

    /// <summary>The protocol features it offers: queue count, acks, and a real device reset.</summary>
    public static ulong OfferedProtocolFeatures { get; } =
        1UL << VhostUserProtocolFeature.Mq | 1UL << VhostUserProtocolFeature.ReplyAck | 1UL << VhostUserProtocolFeature.ResetDevice;

    /// <summary>Which connection of the back-end this is, counting from 1.</summary>
    public int Number { get; }

    public DateTimeOffset ConnectedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>The protocol features this session offers: <see cref="OfferedProtocolFeatures"/>, as its rules give them.</summary>
    private ulong ProtocolFeaturesOffered => _rules.ProtocolFeatures(OfferedProtocolFeatures);

    /// <summary>Frames per ring so far and each ring's enable history: the back-end's view of which rings carried traffic.</summary>
    public RingCounters Counters => _counters;

    /// <summary>A snapshot of the counters of every ring this session serves.</summary>
    public SessionReport Report(DateTimeOffset? endedAt = null) => SessionReport.Of(Number, ConnectedAt, endedAt, _counters, _vrings.Length, _featuresAccepted);

    /// <summary>The front-end's events so far, with an end event when <paramref name="endedAt"/> is given; null when not recording.</summary>
    public DriverSession? DriverRecord(DateTimeOffset? endedAt = null) =>
        _recorder?.Session(Number, ConnectedAt, endedAt, endedAt is null ? null : Snapshot(DriverEventKind.End, null, null));

    /// <summary>
    /// Serves the connection until the front-end goes away, the stream breaks, or <paramref name="stop"/> fires;
    /// calls <paramref name="periodic"/> (if any) every <paramref name="period"/> on the way, from this thread.
    /// </summary>
    public void Run(CancellationToken stop, Action? periodic = null, TimeSpan period = default)
    {
        if (_options.RingThreads > 1) RunWithRingThreads(periodic, period, stop);
        else RunAlone(periodic, period, stop);
    }

    /// <summary>Messages and every ring on this one thread.</summary>
    private void RunAlone(Action? periodic, TimeSpan period, CancellationToken stop)
    {
        var lastPeriodic = Stopwatch.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            if (periodic is not null && Stopwatch.GetElapsedTime(lastPeriodic) >= period)
            {
                lastPeriodic = Stopwatch.GetTimestamp();
                periodic();
            }
            // Only a message can add, replace or drop a kick fd, so the map is rebuilt after messages, not every round.
            var kicks = _kicksByFd ??= RingsByKickFd();
            // Rings with buffers left from their last turn are served again at once: don't sleep on them.
            var wait = _plane.HasBacklog ? TimeSpan.Zero : TimeSpan.FromMilliseconds(200);
            var ready = PollSet.WaitReadable([_channel.Fd, .. kicks.Keys], wait);
            // Messages go before kicks. A front-end may send SET_VRING_ENABLE without asking for a reply and fill
            // and kick the ring straight after (DPDK virtio-user does, then "start tx_first"): the messages and
            // the kick are then pending together, and taking the kick first would drain the ring as still
            // disabled and discard its frames. So the messages already waiting are served first, then the kicks
            // pending at that point. A message that was answered ends the burst: the front-end waited for that
            // answer, so what it sends next came after the kicks, and must not overtake them.
            if (ready.Contains(_channel.Fd))
            {
                if (!ServeMessageBurst()) return;
                // Messages may have replaced or dropped kick fds: look at the current ones.
                kicks = _kicksByFd = RingsByKickFd();
                ready = PollSet.WaitReadable([.. kicks.Keys], TimeSpan.Zero);
            }
            // Receive rings first: a ring starts on its first kick, and a frame taken from a transmit ring kicked
            // in the same round must not miss a receive ring that was kicked before it but not yet started.
            foreach (var fd in ready)
                if (kicks.TryGetValue(fd, out var vring) && vring.Index % 2 == 0) OnKick(vring, _plane.LaneAt(0), mayStart: true);
            foreach (var fd in ready)
                if (kicks.TryGetValue(fd, out var vring) && vring.Index % 2 == 1) OnKick(vring, _plane.LaneAt(0), mayStart: true);
            _plane.ServeBacklog();
            if (_plane.NeedsReset) SignalErrorIfBroken(_vrings.FirstOrDefault(v => _plane.IsBroken(v.Index)));
        }
    }

    /// <summary>The rings that have a kick eventfd, by that fd.</summary>
    private Dictionary<int, Vring> RingsByKickFd() => _vrings.Where(v => v.Kick is not null).ToDictionary(v => v.Kick!.Fd, v => v);

    /// <summary>
    /// Serves the messages waiting, up to the first that was answered (see <see cref="RunAlone"/>) and at most 64, so
    /// a front-end that never stops talking cannot starve the rings; false when the connection is over.
    /// </summary>
    private bool ServeMessageBurst()
    {
        for (var served = 0; served < 64; served++)
        {
            if (!ServeOneMessage(out var answered)) return false;
            if (answered || PollSet.WaitReadable([_channel.Fd], TimeSpan.Zero).Count == 0) break;
        }
        return true;
    }

    /// <summary>Reads and handles one message; false when the connection is over (the reason is logged).</summary>
    private bool ServeOneMessage(out bool answered)
    {
        answered = false;
        VhostUserMessage message;
        try
        {
            message = _channel.Receive(MessageTimeout, "the front-end's next message");
        }
        catch (VhostUserDisconnectedException e)
        {
            _log($"front-end disconnected: {e.Message}");
            return false;
        }
        catch (Exception e) when (e is VhostUserProtocolException or TimeoutException)
        {
            // A broken header leaves no way to find the next message: drop the connection, keep serving.
            _log($"closing the connection: {e.Message}");
            return false;
        }
        // A request that cannot be answered, or a front-end that hangs up before reading its reply, ends this
        // connection here with a reason in the log; letting it escape would log it as an unexpected error.
        try
        {
            Dispatch(message);
            answered = message.Request.AlwaysGetsReply() || (message.NeedsReply && AckNegotiated);
            return true;
        }
        catch (VhostUserDisconnectedException e)
        {
            _log($"front-end disconnected before its reply was sent: {e.Message}");
            return false;
        }
        catch (VhostUserProtocolException e)
        {
            _log($"closing the connection: {e.Message}");
            return false;
        }
    }

    private void Dispatch(VhostUserMessage m)
    {
        var fds = m.Fds;
        try
        {
            var ok = Handle(m);
            if (ok && _recorder is not null) RecordDriverEvent(m);
            if (m.NeedsReply && AckNegotiated && !m.Request.AlwaysGetsReply())
                _channel.Send(m.ReplyWith(Payload.U64(ok ? 0UL : 1UL)));
        }
        // A disconnect is not a refusal: it goes to Run, which ends the session.
        catch (Exception e) when (e is VhostUserProtocolException or ArgumentException or GuestMemoryFault or ChainError
                                      or (IOException and not VhostUserDisconnectedException))
        {
            _log($"{m.Request.WireName()} refused: {e.Message}");
            if (m.NeedsReply && AckNegotiated && !m.Request.AlwaysGetsReply())
                _channel.Send(m.ReplyWith(Payload.U64(1)));
            else if (m.Request.AlwaysGetsReply())
                throw new VhostUserProtocolException($"cannot answer {m.Request.WireName()}: {e.Message}");
        }
        finally
        {
            // Whatever a handler did not adopt is closed here, so no request can leak fds into the back-end.
            foreach (var fd in fds) if (fd >= 0) Libc.Close(fd);
        }
    }

    private bool AckNegotiated => (_protocolFeatures & (1UL << VhostUserProtocolFeature.ReplyAck)) != 0;

    private LoopbackDataPlane NewPlane()
    {
        // Turns of one ring's worth: a front-end keeping a ring full must not keep this thread from messages and other rings.
        var plane = new LoopbackDataPlane(_memory.Guest, _options, _log, _counters, _options.RingThreads) { TurnBudget = _options.QueueMaxSize };
        plane.UsedBufferNotification += vq => _vrings[vq].Call?.Signal();
        return plane;
    }

    /// <summary>
    /// Serves a kick on <paramref name="v"/> through <paramref name="lane"/>. A ring not yet started is started here when
    /// <paramref name="mayStart"/> (the thread owns the whole plane); ring threads start rings beforehand, with every
    /// other thread held back (<see cref="StartRing"/>), and here only drain a kick whose ring could not start.
    /// </summary>
    private void OnKick(Vring v, LoopbackDataPlane.Lane lane, bool mayStart)
    {
        v.Kick!.Drain();
        if (_options.KickDelay > TimeSpan.Zero) Thread.Sleep(_options.KickDelay);
        if (v.Index >= 2 * _options.MaxPairs) return; // a ring its rules accept messages for, but above the pairs it serves
        if (!_plane.IsStarted(v.Index) && (!mayStart || !StartRing(v))) return;
        lane.Notify(v.Index);
        SignalErrorIfBroken(v);
    }

    /// <summary>A kick starts the ring (the "Ring states" rule), with the base the front-end last set; false if it cannot start.</summary>
    private bool StartRing(Vring v)
    {
        if (!v.IsConfigured)
        {
            _log($"kick on vring {v.Index} before its size and addresses were set; ignored");
            return false;
        }
        var from = _rules.ResumeAt(BaseOf(v));
        _plane.StartQueue(v.Index, new QueueRegisters(v.Num, v.Desc!.Value, v.Avail!.Value, v.Used!.Value), _features, from);
        _recorder?.Add(Snapshot(DriverEventKind.RingStart, v.Index, from));
        return _plane.IsStarted(v.Index);
    }

    /// <summary>The ring format the negotiated features select.</summary>
    private RingFormat Format => _features.Has(FeatureBit.RingPacked) ? RingFormat.Packed : RingFormat.Split;

    /// <summary>Where <paramref name="v"/> goes on from: the base last set or stopped at, else where a fresh ring of the format starts.</summary>
    private uint BaseOf(Vring v) => v.Base ?? (Format == RingFormat.Packed ? PackedVringBase.Start.Encode() : 0);

    // A ring the driver overran is unusable until reset: say so on its error eventfd (SET_VRING_ERR), once.
    private void SignalErrorIfBroken(Vring? v)
    {
        if (v is null || !_plane.NeedsReset || Interlocked.Exchange(ref _errorSignalled, 1) == 1) return;
        v.Err?.Signal();
    }

    public void Dispose()
    {
        foreach (var v in _vrings) v.Dispose();
        if (!_ringThreadsStuck) _memory.Dispose();
        _channel.Dispose();
        if (!_ringThreadsStuck) _gate.Dispose();
    }
}
