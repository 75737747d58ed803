using System.Globalization;
using VirtioMq.Adapters.Devices;

namespace VirtioMq.Adapters.Qemu;

/// <summary>The data path behind QEMU's virtio-net device.</summary>
public enum QemuNetdev
{
    /// <summary>A multi-queue tap in a private network namespace, looped back in the kernel: QEMU's own data path.</summary>
    Tap,

    /// <summary>A vhost-user back-end the user started: QEMU's device model in front, the back-end's data path behind.</summary>
    VhostUser,
}

/// <summary>
/// A <c>qemu://</c> device URI read into what the adapter needs: <c>qemu:///usr/bin/qemu-system-x86_64?pairs=4&amp;netdev=tap</c>.
/// The path names the QEMU binary (empty: <c>qemu-system-x86_64</c> on PATH). Query parameters the adapter does not own
/// are virtio-net-pci properties and go to QEMU as they are (<c>rss=on</c>, <c>packed=on</c>, <c>rx_queue_size=1024</c>).
/// </summary>
public sealed record QemuOptions(string Binary, int Pairs, QemuNetdev Netdev, string? Socket, int MemoryMiB, TimeSpan Timeout,
    TimeSpan StartTimeout, TimeSpan Settle, IReadOnlyList<string> DataDirs, IReadOnlyList<KeyValuePair<string, string>> DeviceProperties)
{
    public const string DefaultBinary = "qemu-system-x86_64";

    /// <summary>The query parameters that are the adapter's own; every other one is a device property.</summary>
    public static readonly IReadOnlySet<string> AdapterKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "pairs", "netdev", "socket", "memory-mib", "timeout-ms", "start-timeout-ms", "settle-ms", "data-dir", "reuse",
    };

    /// <summary>Properties the adapter sets itself: the slot, modern-only, no option ROM, the netdev link.</summary>
    private static readonly HashSet<string> FixedProperties = new HashSet<string>(StringComparer.Ordinal) { "addr", "disable-legacy", "romfile", "netdev", "id" };

    /// <summary>The tun driver's limit of queues per tap (MAX_TAP_QUEUES), and so of pairs QEMU can have over it.</summary>
    public const int TapMaxQueues = 256;

    /// <summary>How many pairs the suite may choose for a URI: up to the tap's limit; none with vhost-user, whose back-end fixes them.</summary>
    public static int BuildablePairs(DeviceUri uri) => uri.Get("netdev") is null or "tap" ? TapMaxQueues : 0;

    public static QemuOptions Parse(DeviceUri uri)
    {
        var binary = string.IsNullOrEmpty(uri.Path) || uri.Path == "/" ? DefaultBinary : uri.Path;
        var pairs = uri.GetInt("pairs", 4);
        if (pairs is < 1 or > 256)
            throw new FormatException($"device URI '{uri}': pairs={pairs}; QEMU's virtio-net has 1 to 256 queue pairs (the tap has up to 256 queues)");
        var netdev = uri.Get("netdev") switch
        {
            null or "tap" => QemuNetdev.Tap,
            "vhost-user" => QemuNetdev.VhostUser,
            var other => throw new FormatException($"device URI '{uri}': netdev={other}; the QEMU adapter knows netdev=tap and netdev=vhost-user"),
        };
        var socket = uri.Get("socket");
        if (netdev == QemuNetdev.VhostUser && string.IsNullOrEmpty(socket))
            throw new FormatException($"device URI '{uri}': netdev=vhost-user needs socket=/path/to/back-end.sock (start the back-end first, e.g. `tests/peers/reference-backend.sh start /tmp/vu.sock {pairs}`)");
        var memory = uri.GetInt("memory-mib", 64);
        if (memory is < 16 or > 2048) throw new FormatException($"device URI '{uri}': memory-mib={memory}; 16 to 2048 MiB of guest RAM");
        var properties = new List<KeyValuePair<string, string>>();
        foreach (var (key, values) in uri.Query)
        {
            if (AdapterKeys.Contains(key)) continue;
            if (FixedProperties.Contains(key))
                throw new FormatException($"device URI '{uri}': the adapter sets virtio-net-pci's '{key}' itself");
            // Values were split on commas by the URI parser; a property takes one value.
            properties.Add(new(key, values.Count > 0 ? values[^1] : ""));
        }
        return new QemuOptions(binary, pairs, netdev, socket, memory,
            Millis(uri, "timeout-ms", 5000), Millis(uri, "start-timeout-ms", 10000), Millis(uri, "settle-ms", 25),
            uri.GetAll("data-dir"), properties);
    }

    private static TimeSpan Millis(DeviceUri uri, string key, int fallback) => TimeSpan.FromMilliseconds(uri.GetInt(key, fallback));

    /// <summary>The -device argument: the function at slot 4 of bus 0, modern only, no boot ROM, multiqueue when more than one pair.</summary>
    public string DeviceArgument(int slot)
    {
        var props = new List<string> { "virtio-net-pci", $"addr={slot:x2}.0", "disable-legacy=on", "romfile=", "netdev=n0" };
        var own = DeviceProperties.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        // Multiqueue on at every pair count (QEMU's default is off): one pair then reads max_virtqueue_pairs 1, and the
        // device offers the same features whatever the count, as the suite's model expects of one device.
        if (!own.ContainsKey("mq")) props.Add("mq=on");
        // One MSI-X vector per virtqueue plus the configuration vector, as QEMU's default for virtio-net-pci.
        if (!own.ContainsKey("vectors")) props.Add(string.Create(CultureInfo.InvariantCulture, $"vectors={2 * Pairs + 2}"));
        props.AddRange(DeviceProperties.Select(p => $"{p.Key}={p.Value}"));
        return string.Join(",", props);
    }
}
