using System.Diagnostics;

namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// The tap data path: QEMU runs in a network namespace of its own (<c>unshare --net</c>), with a multi-queue tap whose
/// frames a tc rule sends straight back in. Every frame the device transmits thus comes back to it through QEMU's own
/// receive path and the tun driver's choice of queue. The rule matches on the ethertype (offset -2 from the network
/// header), not on network-layer bytes: a frame of only an Ethernet header has none, and would not be looped back.
/// The namespace has no other interface and IPv6 is off in it, so the kernel adds no frames of its own. It lives
/// exactly as long as QEMU: nothing to remove afterwards.
/// </summary>
internal static class TapNamespace
{
    public const string Interface = "vmqtap0";

    // Runs inside the new namespace, then becomes QEMU (exec), which keeps the namespace and the parent-death signal.
    private const string ScriptTemplate = """
        set -e
        export PATH=/usr/sbin:/sbin:/usr/bin:/bin:$PATH
        { echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; } 2>/dev/null || true
        ip link set lo up
        ip tuntap add dev TAP mode tap MODE
        ip link set TAP up
        tc qdisc add dev TAP ingress
        tc filter add dev TAP parent ffff: protocol all u32 match u16 0 0 at -2 action mirred egress redirect dev TAP
        exec "$@"
        """;

    /// <summary>Wraps the QEMU command line so that it runs in a fresh namespace with the looped-back tap.</summary>
    /// <exception cref="QemuStartException">The suite does not run as root, which creating a namespace and a tap needs.</exception>
    /// <param name="queues">QEMU's tap queues: a tap made multi_queue takes only a QEMU that attaches with IFF_MULTI_QUEUE, which it does for 2 or more.</param>
    public static ProcessStartInfo Wrap(ProcessStartInfo qemu, int queues)
    {
        if (!Environment.IsPrivilegedProcess)
            throw new QemuStartException("netdev=tap needs root (a network namespace and a multi-queue tap); run the suite as root, or use " +
                "netdev=vhost-user&socket=/path/to/back-end.sock with a vhost-user back-end");
        var wrapped = new ProcessStartInfo("unshare")
        {
            RedirectStandardError = qemu.RedirectStandardError,
            RedirectStandardOutput = qemu.RedirectStandardOutput,
            UseShellExecute = false,
        };
        var script = ScriptTemplate.Replace("TAP", Interface, StringComparison.Ordinal).Replace("MODE", queues > 1 ? "multi_queue" : "", StringComparison.Ordinal);
        foreach (var a in new[] { "--net", "--", "sh", "-c", script, "sh", qemu.FileName }.Concat(qemu.ArgumentList)) wrapped.ArgumentList.Add(a);
        return wrapped;
    }
}
