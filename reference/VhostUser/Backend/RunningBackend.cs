namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// A back-end serving on its own thread, for tests and benchmarks that want a real socket without a second
/// process. Disposing stops it and waits (bounded) for the thread, so no test leaves a server behind.
/// </summary>
public sealed class RunningBackend : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly List<string> _log = [];
    private readonly Action<string>? _alsoLog;
    private readonly TimeSpan _stopWithin;
    private readonly bool _client;

    /// <param name="alsoLog">Receives every log line too, for callers that gather logs of several back-ends.</param>
    /// <param name="stopWithin">How long Dispose waits for the thread (default 10 s) before it throws.</param>
    /// <param name="driverRecordPath">Record what each front-end does to this file, as `serve --record-driver` does.</param>
    /// <param name="client">Connect to a front-end listening on the path, again after each session (`serve --client`).</param>
    public RunningBackend(string socketPath, Net.ReferenceOptions options, Action<string>? alsoLog = null, TimeSpan? stopWithin = null,
        string? driverRecordPath = null, bool client = false)
    {
        _client = client;
        _alsoLog = alsoLog;
        _stopWithin = stopWithin ?? TimeSpan.FromSeconds(10);
        Backend = new VhostUserBackend(socketPath, options, Log) { DriverRecordPath = driverRecordPath };
        // Bound before the thread starts, so a front-end may connect as soon as this returns.
        if (client) Backend.Validate();
        else Backend.Listen();
        _thread = new Thread(Serve) { IsBackground = true, Name = $"vhost-user back-end {socketPath}" };
        _thread.Start();
    }

    // Serve keeps a session's failure to that session; anything else escaping it is logged here, because an
    // exception leaving a background thread would end the whole test process.
    private void Serve()
    {
        try
        {
            if (_client) Backend.ServeAsClient(_stop.Token);
            else Backend.Serve(_stop.Token);
        }
        catch (Exception e)
        {
            Log($"Serve ended by {e}");
        }
    }

    /// <summary>A fresh socket path under /tmp that no other test uses.</summary>
    public static string NewSocketPath(string tag) => Path.Combine("/tmp", $"vmq-{tag}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40] + ".sock");

    public VhostUserBackend Backend { get; }
    public string SocketPath => Backend.SocketPath;

    /// <summary>What the back-end logged so far (refused input and connections), oldest first.</summary>
    public IReadOnlyList<string> LogLines
    {
        get { lock (_log) return [.. _log]; }
    }

    private void Log(string line)
    {
        lock (_log)
        {
            if (_log.Count >= 10_000) _log.RemoveAt(0);
            _log.Add(line);
        }
        _alsoLog?.Invoke(line);
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (!_thread.Join(_stopWithin))
            throw new TimeoutException($"the back-end on {SocketPath} did not stop within {_stopWithin.TotalSeconds:0} s of being asked to");
        Backend.Dispose();
        _stop.Dispose();
    }
}
