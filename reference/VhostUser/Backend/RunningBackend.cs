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

    public RunningBackend(string socketPath, Net.ReferenceOptions options)
    {
        Backend = new VhostUserBackend(socketPath, options, Log);
        Backend.Listen();
        _thread = new Thread(() => Backend.Serve(_stop.Token)) { IsBackground = true, Name = $"vhost-user back-end {socketPath}" };
        _thread.Start();
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
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (!_thread.Join(TimeSpan.FromSeconds(10)))
            throw new TimeoutException($"the back-end on {SocketPath} did not stop within 10 s of being asked to");
        Backend.Dispose();
        _stop.Dispose();
    }
}
