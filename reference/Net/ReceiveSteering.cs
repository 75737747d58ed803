namespace VirtioMq.Reference.Net;

/// <summary>Which receiveq a frame looped back from a transmitq lands on.</summary>
public interface IReceiveSteering
{
    /// <summary>
    /// The receive pair (1-based) for a frame of <paramref name="flow"/> just sent on transmitq<paramref name="txPair"/>,
    /// chosen among the pairs whose receiveq is enabled; null drops the frame.
    /// </summary>
    int? Select(FlowKey flow, int txPair, IReadOnlySet<int> enabledPairs);

    /// <summary>Forgets every flow: the device was reset.</summary>
    void Forget();
}

/// <summary>
/// Automatic receive steering (§5.1.9.5.6): a flow is received on the receiveq paired with the transmitq it
/// was last sent on; a flow never sent goes to a queue picked from its hash. Never above the current pairs.
/// </summary>
public sealed class AutomaticReceiveSteering : IReceiveSteering
{
    // Bounded so a driver that sends endless distinct flows cannot grow the device without limit.
    private const int MaxFlows = 4096;
    private readonly Dictionary<FlowKey, int> _lastTxPair = [];

    public int? Select(FlowKey flow, int txPair, IReadOnlySet<int> enabledPairs)
    {
        Transmitted(flow, txPair);
        if (enabledPairs.Count == 0) return null;
        // Stryker disable all : equivalent in a loopback device: every received frame was just sent on an enabled pair, so the
        // enabled test always holds and the hash for unsent flows is never reached
        if (_lastTxPair.TryGetValue(flow, out var p) && enabledPairs.Contains(p)) return p;
        return enabledPairs.ElementAt((int)((uint)flow.GetHashCode() % (uint)enabledPairs.Count));
        // Stryker restore all
    }

    // Stryker disable once all : equivalent in a loopback device: a flow is looked up only right after it was sent again
    public void Forget() => _lastTxPair.Clear();

    private void Transmitted(FlowKey flow, int pair)
    {
        // Stryker disable once all : equivalent in a loopback device: a frame's flow is looked up right after it was stored
        if (_lastTxPair.Count >= MaxFlows && !_lastTxPair.ContainsKey(flow)) _lastTxPair.Clear();
        _lastTxPair[flow] = pair;
    }
}
