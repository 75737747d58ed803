namespace VirtioMq.Adapters.Driver;

/// <summary>The device did something the driver cannot make sense of (a bad used id, a timeout, a closed connection).</summary>
public class DeviceProtocolException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// The rule the device broke, when the place that found the problem knows it (a config field out of range, a
    /// reply the protocol requires that never came); null when only the caller knows what it was part of. A check
    /// that ends on such an exception reports it as that rule's violation, never as a crash of the suite.
    /// </summary>
    public string? RequirementId { get; init; }
}

/// <summary>A bounded wait ran out; the message names what was awaited.</summary>
public sealed class DeviceTimeoutException(string waitedFor, TimeSpan timeout)
    : DeviceProtocolException($"timed out after {timeout.TotalMilliseconds:0} ms waiting for {waitedFor}");
