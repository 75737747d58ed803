namespace VirtioMq.Reference.Net;

/// <summary>Which receiveq a frame looped back from a transmitq lands on.</summary>
public interface IReceiveSteering
{
    /// <summary>
    /// The receive pair (1-based) for <paramref name="frame"/> (without its virtio-net header), just sent on
    /// transmitq<paramref name="txPair"/>, chosen among the pairs whose receiveq is enabled; null drops the frame. A part
    /// that needs the frame's flow takes <see cref="FlowKey.Of"/> of it.
    /// </summary>
    int? Select(ReadOnlySpan<byte> frame, int txPair, IReadOnlySet<int> enabledPairs);

    /// <summary>Forgets every flow: the device was reset.</summary>
    void Forget();
}

/// <summary>
/// Automatic receive steering (§5.1.9.5.6): a flow is received on the receiveq paired with the transmitq it was last
/// sent on; a flow whose pair has no receiveq in use goes to one picked from its hash. Never above the current pairs.
/// </summary>
/// <remarks>
/// A loopback device receives each frame right after it was sent, so "the transmitq its flow was last sent on" is the
/// one the frame itself just left: no flow table is needed, and the flow key is worked out only for the hash. This runs
/// for every frame, and a table lookup and store per frame cost a quarter of the back-end's time.
/// </remarks>
public sealed class AutomaticReceiveSteering : IReceiveSteering
{
    public int? Select(ReadOnlySpan<byte> frame, int txPair, IReadOnlySet<int> enabledPairs)
    {
        if (enabledPairs.Count == 0) return null;
        if (enabledPairs.Contains(txPair)) return txPair;
        return enabledPairs.ElementAt((int)(FlowKey.Of(frame).StableHash() % (uint)enabledPairs.Count));
    }

    // Nothing to forget: every choice is worked out from the frame in hand.
    public void Forget() { }
}
