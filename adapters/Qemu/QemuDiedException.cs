using VirtioMq.Adapters.Devices;

namespace VirtioMq.Adapters.Qemu;

/// <summary>The QEMU process of a session exited while the suite was driving it; the message carries QEMU's last words.</summary>
public sealed class QemuDiedException(string message) : DeviceProtocolException(message);
