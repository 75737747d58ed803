namespace VirtioMq.Adapters.Driver;

/// <summary>The device did something the driver cannot make sense of (a bad used id, a timeout, a closed connection).</summary>
public class DeviceProtocolException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A bounded wait ran out; the message names what was awaited.</summary>
public sealed class DeviceTimeoutException(string waitedFor, TimeSpan timeout)
    : DeviceProtocolException($"timed out after {timeout.TotalMilliseconds:0} ms waiting for {waitedFor}")
{
    /// <summary>
    /// The rule an answer that never came breaks, when the wait itself says which (a vhost-user reply the protocol
    /// requires); null when only the caller knows what the wait was part of.
    /// </summary>
    public string? RequirementId { get; init; }
}
