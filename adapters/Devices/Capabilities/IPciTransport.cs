using VirtioMq.Adapters.Pci;

namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>
/// The device is reached through the virtio-pci transport (§4.1), and the driver may read and write its common
/// configuration registers directly: the transport's own rules (reset on 0, queue_enable and queue_size) are judged there.
/// </summary>
public interface IPciTransport
{
    IVirtioPciRegisters Transport { get; }
}
