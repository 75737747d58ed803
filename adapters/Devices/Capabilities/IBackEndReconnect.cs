namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>
/// vhost-user server mode: the front-end lets go of the back-end's connection, waits for the back-end to connect again
/// and hands it the running device, as QEMU does when a back-end comes back after a restart: the acked features and the
/// memory table, every started ring from the base the driver names (QEMU: the used index, with no inflight tracking),
/// then each enabled ring's enable.
/// </summary>
public interface IBackEndReconnect
{
    /// <param name="restartBase">The vring base each started virtqueue resumes at, by virtqueue index.</param>
    /// <param name="timeout">How long to wait for the back-end to connect again.</param>
    /// <returns>
    /// Null once the device is handed over; else why it could not be: the back-end did not connect again in time, or came
    /// back offering other features. Neither breaks a rule: reconnecting is the back-end's choice, and QEMU would refuse it.
    /// </returns>
    /// <exception cref="DeviceProtocolException">The back-end refused or failed what handing over the rings asks of it.</exception>
    string? Reconnect(Func<int, uint> restartBase, TimeSpan timeout);
}
