namespace VirtioMq.Spec;

/// <summary>
/// The executable oracle: an immutable model of a virtio-net device's multiqueue state and the pure
/// transitions the spec allows. Tests drive a device and this model side by side and compare.
/// </summary>
/// <param name="PairsSetSinceReset">Whether an accepted VQ_PAIRS_SET has been used since the last reset:
/// it tells "only receiveq1 after reset" (§5.1.9.5.6.2 first sentence) from "not above virtqueue_pairs" (second).</param>
public sealed partial record MqDeviceModel(
    DeviceStatus Status,
    FeatureSet Offered,
    FeatureSet Negotiated,
    int MaxPairs,
    int CurrentPairs,
    bool PairsSetSinceReset,
    SpecVersion Version)
{
    public static MqDeviceModel Initial(FeatureSet offered, int maxPairs, SpecVersion version = SpecVersions.Primary) =>
        new(DeviceStatus.None, offered, FeatureSet.Empty, maxPairs, 1, false, version);

    public bool Live => (Status & DeviceStatus.DriverOk) != 0;
    public NetQueueLayout Layout => NetQueueLayout.For(Negotiated, MaxPairs, Version);
    public bool MultiqueueNegotiated => Negotiated.Has(FeatureBit.NetMq);

    /// <summary>Reset forgets everything negotiated; multiqueue goes back to one pair (§2.4, §5.1.9.5.6.2).</summary>
    public MqDeviceModel Reset() => this with
    {
        Status = DeviceStatus.None,
        Negotiated = FeatureSet.Empty,
        CurrentPairs = 1,
        PairsSetSinceReset = false,
        Rss = null,
        RssSteers = false,
        Hash = null,
    };

    /// <summary>
    /// The driver's steps 2-6 of §3.1.1 with the given subset. A valid subset is accepted (§2.2.2 SHOULD);
    /// an invalid one is refused, which is what a careful device does.
    /// </summary>
    public (MqDeviceModel Next, bool FeaturesOk) Negotiate(FeatureSet driverFeatures)
    {
        var ok = FeatureRules.IsValidDriverSubset(driverFeatures, Offered) && driverFeatures.Has(FeatureBit.Version1);
        var status = DeviceStatus.Acknowledge | DeviceStatus.Driver | (ok ? DeviceStatus.FeaturesOk : 0);
        return (this with { Status = status, Negotiated = ok ? driverFeatures : FeatureSet.Empty }, ok);
    }

    public MqDeviceModel DriverOk() =>
        (Status & DeviceStatus.FeaturesOk) != 0 ? this with { Status = Status | DeviceStatus.DriverOk } : this;

    /// <summary>VQ_PAIRS_SET(n): accepted only with MQ and 1 &lt;= n &lt;= max; anything else is ERR and changes nothing.</summary>
    public (MqDeviceModel Next, NetAck Ack) VqPairsSet(int n)
    {
        if (!Live || !MultiqueueNegotiated || n < NetControl.VqPairsMin || n > MaxPairs) return (this, NetAck.Err);
        // The last multiqueue command decides the mode (§5.1.9.5.5): automatic steering replaces RSS.
        return (this with { CurrentPairs = n, PairsSetSinceReset = true, RssSteers = false }, NetAck.Ok);
    }

    /// <summary>Which requirement an ERR/OK answer to VQ_PAIRS_SET(n) is judged by, when it differs from the model.</summary>
    public Violation? JudgeVqPairsSetAck(int n, NetAck observed)
    {
        var (_, expected) = VqPairsSet(n);
        if (observed == expected) return null;
        if (expected == NetAck.Ok)
            return new Violation(Rule.NetMqDefVqPairsSet, $"VQ_PAIRS_SET({n}) with max_virtqueue_pairs={MaxPairs} was answered {observed}, not OK");
        var id = !MultiqueueNegotiated ? Rule.RobustMqPairsSetWithoutMqRejected
            : n < NetControl.VqPairsMin ? Rule.RobustMqPairsSetZeroRejected
            : Rule.RobustMqPairsSetAboveMaxRejected;
        return new Violation(id, $"VQ_PAIRS_SET({n}) with max_virtqueue_pairs={MaxPairs}{(MultiqueueNegotiated ? "" : " and MQ not negotiated")} was answered {observed}, expected ERR");
    }

    /// <summary>The receive pairs a frame may arrive on now: none before DRIVER_OK, else receiveq1..virtqueue_pairs.</summary>
    public bool MayReceiveOn(int pair) => Live && pair >= 1 && pair <= CurrentPairs;

    /// <summary>
    /// Judges where a frame sent on transmitq <paramref name="txPair"/> came back in a loopback topology
    /// (<paramref name="rxPair"/> null: it did not come back). Empty when the device did what the model allows.
    /// </summary>
    public IReadOnlyList<Violation> JudgeLoopback(int txPair, int? rxPair)
    {
        var v = new List<Violation>();
        if (rxPair is { } r && !MayReceiveOn(r))
        {
            v.Add(!Live
                ? new Violation(Rule.CoreStatusDevNoUseBeforeDriverOk, $"frame from transmitq{txPair} delivered on receiveq{r} before DRIVER_OK")
                : PairsSetSinceReset
                    ? new Violation(Rule.NetMqDevRxLimitAfterUsed, $"frame from transmitq{txPair} delivered on receiveq{r}, above virtqueue_pairs={CurrentPairs}")
                    : new Violation(Rule.NetMqDevRxQ1AfterReset, $"frame from transmitq{txPair} delivered on receiveq{r} after reset, before any VQ_PAIRS_SET (only receiveq1 may be used)"));
            return v;
        }
        if (!Live || txPair > CurrentPairs) return v; // the device may drop it, or deliver it on an enabled queue
        if (rxPair is null)
            v.Add(txPair > 1 && PairsSetSinceReset
                ? new Violation(Rule.NetMqDefVqPairsSet,
                    $"frame lost: sent on transmitq{txPair}, which VQ_PAIRS_SET({CurrentPairs}) made usable and the device acked, it never came back on any receiveq")
                : new Violation(Rule.NetTxDefSent,
                    $"frame lost: sent on transmitq{txPair} (vq {NetQueueLayout.Transmitq(txPair)}), usable with virtqueue_pairs={CurrentPairs}, it never came back on any receiveq " +
                    "(a device that uses another queue layout, receive and transmit swapped, looks the same)"));
        else if (rxPair != txPair && MultiqueueNegotiated && !RssSteers)
            v.Add(new Violation(Rule.NetMqDevFollowTx, $"frame sent on transmitq{txPair} came back on receiveq{rxPair}, not receiveq{txPair}"));
        return v;
    }

    public override string ToString() =>
        $"status={Status} negotiated={Negotiated} max_virtqueue_pairs={MaxPairs} virtqueue_pairs={CurrentPairs}{(PairsSetSinceReset ? "" : " (default since reset)")}";
}
