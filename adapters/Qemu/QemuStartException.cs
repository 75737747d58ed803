namespace VirtioMq.Adapters.Qemu;

/// <summary>QEMU could not be started as asked; the message is one line that says what to do.</summary>
public sealed class QemuStartException(string message) : IOException(message)
{
    /// <summary>Turns QEMU's own complaint into one line that names the fix.</summary>
    public static string Explain(string stderr, int exitCode, QemuOptions options, QemuInstallation qemu)
    {
        var head = $"{qemu.Binary} ({qemu.Version}) stopped before its device was ready (exit code {exitCode})";
        if (stderr.Contains("Property", StringComparison.Ordinal) && stderr.Contains("not found", StringComparison.Ordinal))
            return $"{head}: it does not know a device property of the URI ({string.Join(", ", options.DeviceProperties.Select(p => p.Key))}); " +
                   $"`{qemu.Binary} -device virtio-net-pci,help` lists those it has. QEMU said: {stderr}";
        if (options.Netdev == QemuNetdev.VhostUser && (stderr.Contains("Failed to connect", StringComparison.Ordinal) || stderr.Contains("socket", StringComparison.Ordinal)))
            return $"{head}: no vhost-user back-end answered on {options.Socket}; start one there first. QEMU said: {stderr}";
        if (stderr.Contains("tuntap", StringComparison.Ordinal) || stderr.Contains("unshare", StringComparison.Ordinal) || stderr.Contains("tc:", StringComparison.Ordinal))
            return $"{head}: the tap namespace could not be set up (needs root, iproute2 and unshare). It said: {stderr}";
        return $"{head}. QEMU said: {stderr}";
    }
}
