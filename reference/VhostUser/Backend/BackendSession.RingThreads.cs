using System.Diagnostics;
using System.Runtime.ExceptionServices;
using VirtioMq.Reference.Net;
using VirtioMq.Spec.Platform;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// Ring threads (<see cref="ReferenceOptions.Workers"/> above 1): the session's thread answers messages and N threads
/// serve the rings, pair p's on thread (p - 1) mod N, so a front-end driving several pairs gets several cores. What
/// keeps a message from racing a ring:
/// <list type="bullet">
/// <item>A gate, read by a ring thread through each turn and written by the session through each burst of messages.
/// A message therefore changes rings, fds or the plane only between turns; a turn is bounded (TurnBudget buffers a
/// ring), so a message waits at most that long.</item>
/// <item>A ring starts on its first kick, which changes the plane too: the ring thread takes the gate for writing to
/// start it, as a message would.</item>
/// <item>After each burst the generation moves on. Whatever a ring thread saw under an older generation it looks at
/// again before it acts. A thread whose kick fds changed is woken to poll the new ones, and so is one waiting for the
/// burst; the others find out at their next kick (waking every thread after every message cost a context switch each
/// on a small machine, and a third of the model-based test's rate).</item>
/// <item>A ring thread that finds kicks while a message waits on the socket stands aside until that message is
/// served, because it may be the SET_VRING_ENABLE the kicks depend on (see <see cref="RunAlone"/>); the session then
/// lets it have that turn before serving more messages, so later messages do not overtake kicks that came first.</item>
/// </list>
/// A receive ring can be filled from any ring thread's transmitq; the plane's lanes lock it for that.
/// </summary>
public sealed partial class BackendSession
{
    /// <summary>How long the session waits for a ring thread that stood aside to take its turn before serving more messages.</summary>
    private static readonly TimeSpan OwedTurnWait = TimeSpan.FromMilliseconds(50);

    /// <summary>How long the session waits for its ring threads to end their turns when it closes.</summary>
    private static readonly TimeSpan RingThreadJoin = TimeSpan.FromSeconds(10);

    private readonly ReaderWriterLockSlim _gate = new(LockRecursionPolicy.NoRecursion);
    private long _generation;
    private Exception? _ringThreadFailure;
    // Set when a ring thread did not stop in time: the guest memory then stays mapped rather than vanish under it.
    private bool _ringThreadsStuck;

    private sealed class RingThread(int number) : IDisposable
    {
        public int Number { get; } = number;
        public EventFd Wake { get; } = EventFd.Create();
        public Thread? Thread { get; set; }

        /// <summary>The kick fds this thread was last woken for; the session wakes it when they change.</summary>
        public int[] KickFds { get; set; } = [];

        /// <summary>Set while the thread waits for the session to serve the message it stood aside for.</summary>
        public volatile bool WaitingForMessages;

        // The generation at which this thread stood aside for messages and has not had its turn since; long.MaxValue if none.
        private long _stoodAsideAt = long.MaxValue;
        public long StoodAsideAt
        {
            get => Volatile.Read(ref _stoodAsideAt);
            set => Volatile.Write(ref _stoodAsideAt, value);
        }

        public void Dispose() => Wake.Dispose();
    }

    private enum TurnOutcome { Served, Stale, StandAside, RingsToStart }

    private void RunWithRingThreads(Action? periodic, TimeSpan period, CancellationToken stop)
    {
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var threads = Enumerable.Range(0, _options.RingThreads).Select(i => new RingThread(i)).ToArray();
        foreach (var t in threads)
        {
            t.Thread = new Thread(() => ServeRings(t, ending)) { IsBackground = true, Name = $"vhost-user rings {Number}.{t.Number}" };
            t.Thread.Start();
        }
        try
        {
            var lastPeriodic = Stopwatch.GetTimestamp();
            while (!ending.IsCancellationRequested)
            {
                if (periodic is not null && Stopwatch.GetElapsedTime(lastPeriodic) >= period)
                {
                    lastPeriodic = Stopwatch.GetTimestamp();
                    periodic();
                }
                if (PollSet.WaitReadable([_channel.Fd], TimeSpan.FromMilliseconds(200)).Count == 0) continue;
                LetStandingAsideHaveTheirTurn(threads);
                bool open;
                var wake = new List<RingThread>();
                _gate.EnterWriteLock();
                try
                {
                    open = ServeMessageBurst();
                    Interlocked.Increment(ref _generation);
                    foreach (var t in threads)
                    {
                        var fds = RingsByKickFd(t.Number).Keys.Order().ToArray();
                        if (!t.WaitingForMessages && fds.SequenceEqual(t.KickFds)) continue;
                        t.KickFds = fds;
                        wake.Add(t);
                    }
                }
                finally
                {
                    _gate.ExitWriteLock();
                }
                foreach (var t in wake) t.Wake.Signal();
                if (!open) return;
            }
        }
        finally
        {
            ending.Cancel();
            foreach (var t in threads) t.Wake.Signal();
            foreach (var t in threads)
            {
                if (t.Thread!.Join(RingThreadJoin)) t.Dispose();
                else
                {
                    _ringThreadsStuck = true;
                    _log($"ring thread {t.Number} did not end its turn within {RingThreadJoin.TotalSeconds:0} s of the session closing");
                }
            }
        }
        if (_ringThreadFailure is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    private void LetStandingAsideHaveTheirTurn(RingThread[] threads)
    {
        var now = Interlocked.Read(ref _generation);
        SpinWait.SpinUntil(() => threads.All(t => t.StoodAsideAt >= now), OwedTurnWait);
    }

    /// <summary>One ring thread's life; anything unexpected ends the session, which rethrows it.</summary>
    private void ServeRings(RingThread me, CancellationTokenSource ending)
    {
        try
        {
            ServeRingsUntil(me, ending.Token);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _ringThreadFailure, e, null);
            ending.Cancel();
        }
    }

    private void ServeRingsUntil(RingThread me, CancellationToken stop)
    {
        var seen = -1L;
        Dictionary<int, Vring> kicks = [];
        LoopbackDataPlane.Lane? lane = null;
        var owedTurn = false;
        while (!stop.IsCancellationRequested)
        {
            if (seen != Interlocked.Read(ref _generation) || lane is null)
            {
                _gate.EnterReadLock();
                try
                {
                    seen = _generation;
                    kicks = RingsByKickFd(me.Number);
                    lane = _plane.LaneAt(me.Number);
                }
                finally
                {
                    _gate.ExitReadLock();
                }
            }
            // A ring left with buffers, or a turn owed since standing aside, is served at once; otherwise wait for a kick,
            // or for the session's wake-up.
            var now = lane.HasBacklog || owedTurn;
            var ready = PollSet.WaitReadable([me.Wake.Fd, .. kicks.Keys], now ? TimeSpan.Zero : TimeSpan.FromMilliseconds(200));
            if (ready.Contains(me.Wake.Fd)) me.Wake.Drain();
            var startsTried = false;
            while (!stop.IsCancellationRequested)
            {
                var outcome = Turn(me, seen, lane, kicks, ready, owedTurn, startsTried, out var unstarted);
                if (outcome == TurnOutcome.RingsToStart)
                {
                    StartKickedRings(unstarted, seen);
                    startsTried = true;
                    continue;
                }
                if (outcome == TurnOutcome.StandAside)
                {
                    owedTurn = true;
                    me.StoodAsideAt = seen;
                    WaitForMessages(me, seen, stop);
                }
                else if (outcome == TurnOutcome.Served)
                {
                    owedTurn = false;
                    me.StoodAsideAt = long.MaxValue;
                }
                break;
            }
        }
    }

    /// <summary>One turn of ring thread <paramref name="me"/> over the kicks it found, holding the gate for reading.</summary>
    private TurnOutcome Turn(RingThread me, long seen, LoopbackDataPlane.Lane lane, Dictionary<int, Vring> kicks, IReadOnlyList<int> ready,
        bool owedTurn, bool startsTried, out List<Vring> unstarted)
    {
        unstarted = [];
        _gate.EnterReadLock();
        try
        {
            // Messages replaced fds, rings or the plane since this thread looked: look again.
            if (seen != _generation) return TurnOutcome.Stale;
            var kicked = ready.Where(kicks.ContainsKey).Select(fd => kicks[fd]).ToList();
            if (kicked.Count > 0 && !owedTurn && PollSet.WaitReadable([_channel.Fd], TimeSpan.Zero).Count > 0)
            {
                // Set under the gate, so the burst that serves the message sees it and wakes this thread.
                me.WaitingForMessages = true;
                return TurnOutcome.StandAside;
            }
            if (!startsTried)
            {
                unstarted = [.. kicked.Where(NotStarted), .. kicked.Any(v => v.Index % 2 == 1) ? KickedReceiveRingsNotStarted(kicked) : []];
                if (unstarted.Count > 0) return TurnOutcome.RingsToStart;
            }
            // Receive rings first, as RunAlone does.
            foreach (var v in kicked)
                if (v.Index % 2 == 0) OnKick(v, lane, mayStart: false);
            foreach (var v in kicked)
                if (v.Index % 2 == 1) OnKick(v, lane, mayStart: false);
            lane.ServeBacklog();
            if (_plane.NeedsReset) SignalErrorIfBroken(_vrings.FirstOrDefault(v => _plane.IsBroken(v.Index)));
            return TurnOutcome.Served;
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    private bool NotStarted(Vring v) => v.Index < 2 * _options.MaxPairs && !_plane.IsStarted(v.Index);

    /// <summary>
    /// Other threads' receive rings that were kicked and are not started yet. A frame about to leave a transmitq may be
    /// steered to one of them, and the front-end may have kicked it before the transmitq: started now, it takes the frame,
    /// as it would have on one thread (see <see cref="RunAlone"/>: receive rings first). A kick still unread means its
    /// thread has not started the ring: that thread starts it before it drains the kick.
    /// </summary>
    private List<Vring> KickedReceiveRingsNotStarted(List<Vring> mine)
    {
        var waiting = _vrings.Where(v => v.Index % 2 == 0 && v.Kick is not null && v.IsConfigured && NotStarted(v) && !mine.Contains(v)).ToList();
        if (waiting.Count == 0) return waiting;
        var readable = PollSet.WaitReadable([.. waiting.Select(v => v.Kick!.Fd)], TimeSpan.Zero);
        return [.. waiting.Where(v => readable.Contains(v.Kick!.Fd))];
    }

    /// <summary>Starts the kicked rings that are not started yet, holding every other thread back as a message does.</summary>
    private void StartKickedRings(List<Vring> rings, long seen)
    {
        _gate.EnterWriteLock();
        try
        {
            if (seen != _generation) return;
            foreach (var v in rings)
                if (!_plane.IsStarted(v.Index)) StartRing(v);
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    /// <summary>Waits until the session has served a burst of messages after generation <paramref name="seen"/>.</summary>
    private void WaitForMessages(RingThread me, long seen, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested && Interlocked.Read(ref _generation) == seen)
            if (me.Wake.Wait(TimeSpan.FromMilliseconds(200))) me.Wake.Drain();
        me.WaitingForMessages = false;
    }

    /// <summary>The rings ring thread <paramref name="thread"/> serves that have a kick eventfd, by that fd.</summary>
    private Dictionary<int, Vring> RingsByKickFd(int thread) =>
        _vrings.Where(v => v.Kick is not null && v.Index / 2 % _options.RingThreads == thread).ToDictionary(v => v.Kick!.Fd, v => v);
}
