using VirtioMq.Reference.Net;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// The reference device served as a vhost-user back-end: listens on a Unix socket and serves one front-end
/// at a time, then the next. Nothing a front-end sends can end the server; only <see cref="Serve"/>'s token can.
/// </summary>
public sealed class VhostUserBackend(string socketPath, ReferenceOptions options, Action<string> log) : IDisposable
{
    /// <summary>Faults that live in a back-end; the others belong to the device model, which QEMU keeps in the front-end.</summary>
    public static IReadOnlyList<DeviceFault> BackendFaults { get; } =
        [DeviceFault.RxOnDisabled, DeviceFault.SwapRxTx, DeviceFault.SteerAllToQ1, DeviceFault.ResetKeepsPairs, DeviceFault.MaxPairsZero,
         .. DeviceFaults.BackendOnly];

    /// <summary>The most queue pairs vhost-user can address: KICK/CALL/ERR payloads carry an 8-bit vring index.</summary>
    public const int MaxQueuePairs = 128;

    private VhostUserListener? _listener;

    public string SocketPath { get; } = socketPath;

    /// <summary>Connections served so far.</summary>
    public int Sessions { get; private set; }

    /// <summary>The session in progress, if any (for tests that look at the back-end's side).</summary>
    public BackendSession? Current { get; private set; }

    /// <summary>Binds the socket now, so a caller can start front-ends as soon as this returns.</summary>
    public void Listen()
    {
        if (options.MaxPairs is < 1 or > MaxQueuePairs)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPairs, $"a vhost-user back-end serves 1..{MaxQueuePairs} queue pairs");
        var foreign = options.FaultSet.Except(BackendFaults).ToList();
        if (foreign.Count > 0)
            throw new ArgumentException($"fault(s) {string.Join(", ", foreign.Select(f => f.Name()))} live in the device model, not in a back-end; " +
                $"a back-end can have: {string.Join(", ", BackendFaults.Select(f => f.Name()))}");
        _listener ??= new VhostUserListener(SocketPath);
    }

    /// <summary>Serves front-ends one after another until <paramref name="stop"/> fires.</summary>
    public void Serve(CancellationToken stop)
    {
        Listen();
        log($"listening on {SocketPath} with {options.MaxPairs} queue pair(s)" +
            (options.FaultSet.Count > 0 ? $", faults: {string.Join(",", options.FaultSet.Select(f => f.Name()))}" : ""));
        while (!stop.IsCancellationRequested)
        {
            var channel = _listener!.Accept(TimeSpan.FromMilliseconds(200));
            if (channel is null) continue;
            Sessions++;
            log($"front-end {Sessions} connected");
            using var session = new BackendSession(channel, options, log);
            Current = session;
            try
            {
                session.Run(stop);
            }
            catch (Exception e)
            {
                // Whatever went wrong belongs to this connection; the next front-end gets a fresh session.
                log($"session {Sessions} ended by an unexpected error: {e}");
            }
            finally
            {
                Current = null;
            }
        }
    }

    public void Dispose() => _listener?.Dispose();
}
