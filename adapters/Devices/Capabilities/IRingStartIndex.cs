namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>
/// The transport lets the driver start a data ring at any index instead of 0 (vhost-user's SET_VRING_BASE), so a
/// check can take a ring across 65535 → 0 in a few buffers instead of 65,536.
/// </summary>
public interface IRingStartIndex;
