using VirtioMq.Spec;

namespace VirtioMq.Adapters.Devices;

/// <summary>
/// The device did something the suite's driver or front-end cannot make sense of (a bad used id, a missing reply, a
/// timeout, a closed connection). Thrown by the driver and by the transports alike.
/// </summary>
public class DeviceProtocolException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// What the device did wrong, in the protocol's own terms, when the place that found it can tell; null when only
    /// the caller knows what it was part of. The suite decides which rule each breach breaks
    /// (conformance/Infrastructure/Breaches.cs); the transports never name rules.
    /// </summary>
    public Breach? Breach { get; init; }

    /// <summary>The spec model's judgement of a delivered frame, when the driver asked it (spec/Model/FrameJudgement).</summary>
    public Violation? Judgement { get; init; }
}

/// <summary>A bounded wait ran out; the message names what was awaited.</summary>
public sealed class DeviceTimeoutException(string waitedFor, TimeSpan timeout)
    : DeviceProtocolException($"timed out after {timeout.TotalMilliseconds:0} ms waiting for {waitedFor}");
