namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>
/// Enabling and disabling one data ring on its own, below the pair count the driver set (vhost-user's
/// SET_VRING_ENABLE, which a front-end sends per ring).
/// </summary>
public interface IRingEnable
{
    void SetEnabled(int vq, bool enabled);
}
