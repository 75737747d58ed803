using System.Collections.Concurrent;
using VirtioMq.Spec.Platform;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Adapters.VhostUser;

/// <summary>
/// vhost-user's server mode (<c>vhost-user:///path.sock?server=1</c>), the way production runs it: the front-end
/// listens, as QEMU does with <c>server=on</c>, and the back-end connects (DPDK's <c>client=1</c>, Open vSwitch's
/// <c>dpdkvhostuserclient</c>). One listener per path lives as long as the process, so a back-end that reconnects
/// the moment a session closes always finds it: a session is one accepted connection.
/// </summary>
public static class ServerSockets
{
    private static readonly ConcurrentDictionary<string, Lazy<VhostUserListener>> Listeners = new();

    static ServerSockets() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var l in Listeners.Values.Where(l => l.IsValueCreated)) l.Value.Dispose();
    };

    /// <summary>Starts listening on <paramref name="path"/> if nothing in this process does yet.</summary>
    public static void Listen(string path) => _ = ListenerFor(path);

    /// <summary>
    /// The next live connection a back-end makes to <paramref name="path"/>. A connection whose back-end hung up while
    /// it waited to be accepted (a back-end restarted, or a reconnect raced a close) is dropped, and the wait goes on.
    /// </summary>
    public static VhostUserChannel Accept(string path, TimeSpan timeout)
    {
        var listener = ListenerFor(path);
        var deadline = Deadline.After(timeout);
        var dropped = 0;
        while (true)
        {
            var remaining = TimeSpan.FromMilliseconds(Math.Max(0, deadline.RemainingMilliseconds));
            var channel = listener.Accept(remaining) ?? throw new TimeoutException(
                $"no vhost-user back-end connected to '{path}' within {timeout}: in server mode the back-end connects " +
                "(DPDK's client=1, Open vSwitch's dpdkvhostuserclient, the reference's serve --client)" +
                (dropped > 0 ? $"; {dropped} connection(s) whose back-end had already hung up were dropped" : ""));
            if (!channel.PeerHungUpOrSpoke()) return channel;
            channel.Dispose();
            dropped++;
        }
    }

    private static VhostUserListener ListenerFor(string path) =>
        Listeners.GetOrAdd(Path.GetFullPath(path), p => new Lazy<VhostUserListener>(() => new VhostUserListener(p, backlog: 16))).Value;
}
