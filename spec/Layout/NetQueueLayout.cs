namespace VirtioMq.Spec;

/// <summary>
/// The virtqueue layout of a network device (§5.1.2): receiveq k at 2(k-1), transmitq k at 2(k-1)+1,
/// controlq at 2N. N is max_virtqueue_pairs once MQ (or, from 1.2 on, RSS) is negotiated, else 1;
/// the controlq exists only with CTRL_VQ.
/// </summary>
/// <remarks>
/// The 1.0 text numbered the queues one pair too high (receiveqN at 2N, controlq at 2N+2), which contradicts
/// its own "0 receiveq1" line; 1.1 corrected it and every implementation follows the corrected numbering,
/// so a 1.0 run uses it too. What 1.0 and 1.1 lack is RSS: there only MQ widens N.
/// </remarks>
public sealed record NetQueueLayout(int DataPairs, int? ControlqIndex)
{
    public static int Receiveq(int pair) => 2 * (CheckPair(pair) - 1);
    public static int Transmitq(int pair) => 2 * (CheckPair(pair) - 1) + 1;

    /// <summary>The layout for a negotiated feature set and the device's max_virtqueue_pairs.</summary>
    public static NetQueueLayout For(FeatureSet negotiated, int maxVirtqueuePairs, SpecVersion version = SpecVersions.Primary)
    {
        var multi = negotiated.Has(FeatureBit.NetMq) || (version >= SpecVersion.V1_2 && negotiated.Has(FeatureBit.NetRss));
        var n = multi ? maxVirtqueuePairs : 1;
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(maxVirtqueuePairs), maxVirtqueuePairs, "a network device has at least one queue pair");
        return new NetQueueLayout(n, negotiated.Has(FeatureBit.NetCtrlVq) ? 2 * n : null);
    }

    /// <summary>How many virtqueues the layout defines: 2N data queues plus the controlq if any.</summary>
    public int QueueCount => 2 * DataPairs + (ControlqIndex.HasValue ? 1 : 0);

    public QueueIdentity Identify(int vq)
    {
        if (vq < 0 || vq >= QueueCount) return new QueueIdentity(QueueRole.None, 0);
        if (vq == ControlqIndex) return new QueueIdentity(QueueRole.Control, 0);
        return vq % 2 == 0 ? new QueueIdentity(QueueRole.Receive, vq / 2 + 1) : new QueueIdentity(QueueRole.Transmit, (vq - 1) / 2 + 1);
    }

    private static int CheckPair(int pair) =>
        pair is >= 1 and <= NetControl.VqPairsMax ? pair : throw new ArgumentOutOfRangeException(nameof(pair), pair, "queue pairs are numbered from 1 to 0x8000");
}
