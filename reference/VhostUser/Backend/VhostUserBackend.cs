using VirtioMq.Reference.Net;
using VirtioMq.Spec.Recording;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// The reference device served as a vhost-user back-end: listens on a Unix socket and serves one front-end
/// at a time, then the next. Nothing a front-end sends can end the server; only <see cref="Serve"/>'s token can.
/// </summary>
public sealed class VhostUserBackend(string socketPath, ReferenceOptions options, Action<string> log) : IDisposable
{
    /// <summary>The most queue pairs vhost-user can address: KICK/CALL/ERR payloads carry an 8-bit vring index.</summary>
    public const int MaxQueuePairs = 128;

    /// <summary>Reports of ended sessions kept for the stats file; the oldest go first past this many.</summary>
    private const int KeptReports = 1000;

    private readonly long _started = System.Diagnostics.Stopwatch.GetTimestamp();
    private readonly Queue<SessionReport> _ended = new();
    private readonly Queue<DriverSession> _endedDriverSessions = new();
    private long _reportsDropped;
    private VhostUserListener? _listener;

    public string SocketPath { get; } = socketPath;

    /// <summary>Connections served so far.</summary>
    public int Sessions { get; private set; }

    /// <summary>The session in progress, if any (for tests that look at the back-end's side).</summary>
    public BackendSession? Current { get; private set; }

    /// <summary>Where to write per-ring statistics (`serve --stats`); null for nowhere. Set it before <see cref="Serve"/>.</summary>
    public StatsFile? Stats { get; init; }

    /// <summary>Where to write the driver recording (`serve --record-driver`); null for no recording. Set it before <see cref="Serve"/>.</summary>
    public string? DriverRecordPath { get; init; }

    /// <summary>
    /// Every session so far, the running one last with no end time. Call it from the serving thread or after
    /// <see cref="Serve"/> returned: the counters it reads belong to that thread.
    /// </summary>
    public StatsReport Snapshot(string reason) =>
        new(SocketPath, options.MaxPairs, reason, DateTimeOffset.UtcNow,
            Math.Round(System.Diagnostics.Stopwatch.GetElapsedTime(_started).TotalSeconds, 6), _reportsDropped,
            [.. _ended, .. Current is { } s ? [s.Report()] : Array.Empty<SessionReport>()]);

    /// <summary>Writes the stats file, if there is one; a failure is logged, never thrown.</summary>
    public void WriteStats(string reason)
    {
        if (Stats?.TryWrite(Snapshot(reason)) is { } problem) log(problem);
    }

    /// <summary>Every session's driver events so far, the running one last; same threading rule as <see cref="Snapshot"/>.</summary>
    public DriverRecording DriverRecording() =>
        new(SocketPath, options.MaxPairs, BackendSession.OfferedFeatures.Low64, DateTimeOffset.UtcNow,
            [.. _endedDriverSessions, .. Current?.DriverRecord() is { } s ? [s] : Array.Empty<DriverSession>()]);

    /// <summary>Writes the driver recording, if asked for one; a failure is logged, never thrown.</summary>
    public void WriteDriverRecording()
    {
        if (DriverRecordPath is { } path && DriverRecordingFile.TryWrite(path, DriverRecording()) is { } problem) log(problem);
    }

    /// <summary>Binds the socket now, so a caller can start front-ends as soon as this returns.</summary>
    public void Listen()
    {
        Validate();
        _listener ??= new VhostUserListener(SocketPath);
    }

    /// <summary>Refuses options a back-end cannot serve, before anything is bound or connected.</summary>
    public void Validate()
    {
        if (options.MaxPairs is < 1 or > MaxQueuePairs)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPairs, $"a vhost-user back-end serves 1..{MaxQueuePairs} queue pairs");
        // The device model (status, features, config space, controlq) belongs to the front-end, as QEMU keeps it.
        var foreign = options.DeviationList.Where(d => !d.InBackend).ToList();
        if (foreign.Count > 0)
            throw new ArgumentException($"fault(s) {string.Join(", ", foreign)} live in the device model, not in a back-end");
    }

    /// <summary>Serves front-ends one after another until <paramref name="stop"/> fires.</summary>
    public void Serve(CancellationToken stop)
    {
        Listen();
        log($"listening on {SocketPath} with {options.MaxPairs} queue pair(s)" + FaultsSuffix);
        while (!stop.IsCancellationRequested)
        {
            if (_listener!.Accept(TimeSpan.FromMilliseconds(200)) is { } channel) ServeOne(channel, stop);
        }
    }

    /// <summary>
    /// Client mode (`serve --client`, DPDK's client=1, OVS's dpdkvhostuserclient): the front-end listens and this
    /// back-end connects, and connects again whenever a session ends, until <paramref name="stop"/> fires. A missing or
    /// silent listener is waited for, as DPDK's reconnect does, with a short pause between tries.
    /// </summary>
    public void ServeAsClient(CancellationToken stop)
    {
        Validate();
        log($"connecting to {SocketPath} with {options.MaxPairs} queue pair(s)" + FaultsSuffix);
        while (!stop.IsCancellationRequested)
        {
            VhostUserChannel channel;
            try
            {
                channel = VhostUserChannel.Connect(SocketPath, TimeSpan.FromMilliseconds(200));
            }
            catch (TimeoutException)
            {
                continue;
            }
            ServeOne(channel, stop);
        }
    }

    private string FaultsSuffix => options.DeviationList.Count > 0 ? $", faults: {string.Join(",", options.DeviationList)}" : "";

    private void ServeOne(VhostUserChannel channel, CancellationToken stop)
    {
        Sessions++;
        log($"front-end {Sessions} connected");
        using var session = new BackendSession(channel, options, log, Sessions, recordDriver: DriverRecordPath is not null);
        Current = session;
        try
        {
            session.Run(stop, Stats is { Period.Ticks: > 0 } ? () => WriteStats("periodic") : null, Stats?.Period ?? default);
        }
        catch (Exception e)
        {
            // Whatever went wrong belongs to this connection; the next front-end gets a fresh session.
            log($"session {Sessions} ended by an unexpected error: {e}");
        }
        finally
        {
            Current = null;
            var endedAt = DateTimeOffset.UtcNow;
            _ended.Enqueue(session.Report(endedAt));
            if (session.DriverRecord(endedAt) is { } record)
            {
                _endedDriverSessions.Enqueue(record);
                if (_endedDriverSessions.Count > KeptReports) _endedDriverSessions.Dequeue();
            }
            if (_ended.Count > KeptReports)
            {
                _ended.Dequeue();
                _reportsDropped++;
            }
            WriteStats("session end");
            WriteDriverRecording();
        }
    }

    public void Dispose() => _listener?.Dispose();
}
