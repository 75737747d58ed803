using System.Collections.Concurrent;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Reference.Zoo;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// Reference vhost-user back-ends served from threads of this process, one per max-pairs value, each on its own
/// socket under /tmp. A back-end serves one front-end after another, so every test case can open a fresh
/// connection (and so a fresh back-end session) without restarting it. Dispose stops them all within a bound.
/// </summary>
/// <param name="faults">Bugs to switch on in every back-end, for tests that check a property can see them.</param>
internal sealed class BackendFixture(IReadOnlySet<DeviceFault>? faults = null) : IDisposable
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(3);
    private const int LogLines = 400;

    private readonly Dictionary<int, RunningBackend> _served = [];
    private readonly ConcurrentQueue<string> _log = new();

    /// <summary>The socket of a back-end serving <paramref name="pairs"/> queue pairs, started on first use.</summary>
    public string SocketFor(int pairs)
    {
        lock (_served)
        {
            if (_served.TryGetValue(pairs, out var s)) return s.SocketPath;
            var path = $"/tmp/vu-agree-{Environment.ProcessId}-{pairs}-{Guid.NewGuid():N}.sock";
            var backend = new RunningBackend(path, new ReferenceOptions(pairs).WithFaults(faults ?? new HashSet<DeviceFault>()), line => Note(pairs, line), JoinTimeout);
            _served[pairs] = backend;
            return path;
        }
    }

    /// <summary>The newest back-end log lines (all back-ends, each prefixed with its pair count), for failure messages.</summary>
    public IReadOnlyList<string> LogTail(int lines) => _log.TakeLast(lines).ToList();

    /// <summary>Forgets the log, so a failure message shows only the lines of the case that failed.</summary>
    public void ClearLog() => _log.Clear();

    private void Note(int pairs, string line)
    {
        _log.Enqueue($"[back-end {pairs}p] {line}");
        while (_log.Count > LogLines) _log.TryDequeue(out _);
    }

    public void Dispose()
    {
        List<RunningBackend> all;
        lock (_served)
        {
            all = [.. _served.Values];
            _served.Clear();
        }
        var stuck = new List<string>();
        foreach (var s in all)
        {
            // Serve and its session both poll with 200 ms timeouts, so a stop is seen well inside this bound.
            try
            {
                s.Dispose();
            }
            catch (TimeoutException e)
            {
                stuck.Add(e.Message);
            }
        }
        if (stuck.Count > 0)
            throw new InvalidOperationException($"back-end thread(s) did not stop within {JoinTimeout.TotalSeconds:0} s: {string.Join("; ", stuck)}");
    }
}
