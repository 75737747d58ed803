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
        if (_lastTxPair.TryGetValue(flow, out var p) && enabledPairs.Contains(p)) return p;
        return enabledPairs.ElementAt((int)((uint)flow.GetHashCode() % (uint)enabledPairs.Count));
    }

    public void Forget() => _lastTxPair.Clear();
}
