using VirtioMq.Spec;

namespace VirtioMq.Tests.Spec;

[TestFixture]
public sealed class MqDeviceModelTests
{
    private static readonly FeatureSet Offered = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetCtrlVq, FeatureBit.NetMq);

    private static MqDeviceModel Live(int max = 8) => MqDeviceModel.Initial(Offered, max).Negotiate(Offered).Next.DriverOk();

    [Test]
    public void A_fresh_device_uses_one_pair_and_rejects_nothing_valid()
    {
        var m = Live();
        Assert.That(m.CurrentPairs, Is.EqualTo(1));
        var (next, ack) = m.VqPairsSet(8);
        Assert.That((next.CurrentPairs, ack), Is.EqualTo((8, NetAck.Ok)));
    }

    [TestCase(0, Rule.RobustMqPairsSetZeroRejected)]
    [TestCase(9, Rule.RobustMqPairsSetAboveMaxRejected)]
    public void Invalid_pair_counts_are_err_and_change_nothing(int n, string rule)
    {
        var m = Live().VqPairsSet(4).Next;
        var (next, ack) = m.VqPairsSet(n);
        Assert.That((next, ack), Is.EqualTo((m, NetAck.Err)));
        Assert.That(m.JudgeVqPairsSetAck(n, NetAck.Ok)?.RequirementId, Is.EqualTo(rule));
        Assert.That(m.JudgeVqPairsSetAck(n, NetAck.Err), Is.Null);
    }

    [Test]
    public void Without_MQ_every_VQ_PAIRS_SET_is_err()
    {
        var m = MqDeviceModel.Initial(Offered, 8).Negotiate(Offered.Without(FeatureBit.NetMq)).Next.DriverOk();
        Assert.That(m.VqPairsSet(1).Ack, Is.EqualTo(NetAck.Err));
        Assert.That(m.JudgeVqPairsSetAck(1, NetAck.Ok)?.RequirementId, Is.EqualTo(Rule.RobustMqPairsSetWithoutMqRejected));
    }

    [Test]
    public void Reset_goes_back_to_one_pair_and_forgets_the_features()
    {
        var m = Live().VqPairsSet(5).Next.Reset();
        Assert.That((m.CurrentPairs, m.Negotiated, m.Status, m.PairsSetSinceReset), Is.EqualTo((1, FeatureSet.Empty, DeviceStatus.None, false)));
    }

    [Test]
    public void Loopback_judgement_names_the_rule_that_applies() => Assert.Multiple(() =>
    {
        var fresh = Live();
        Assert.That(fresh.JudgeLoopback(2, 2).Single().RequirementId, Is.EqualTo(Rule.NetMqDevRxQ1AfterReset));
        var four = fresh.VqPairsSet(4).Next;
        Assert.That(four.JudgeLoopback(3, 3), Is.Empty);
        Assert.That(four.JudgeLoopback(3, 1).Single().RequirementId, Is.EqualTo(Rule.NetMqDevFollowTx));
        Assert.That(four.JudgeLoopback(3, null).Single().RequirementId, Is.EqualTo(Rule.NetMqDefVqPairsSet));
        Assert.That(four.JudgeLoopback(1, null).Single().RequirementId, Is.EqualTo(Rule.NetTxDefSent), "a lost frame is a lost frame, not a layout");
        Assert.That(fresh.JudgeLoopback(1, null).Single().RequirementId, Is.EqualTo(Rule.NetTxDefSent));
        Assert.That(four.JudgeLoopback(6, 6).Single().RequirementId, Is.EqualTo(Rule.NetMqDevRxLimitAfterUsed));
        Assert.That(four.JudgeLoopback(6, null), Is.Empty, "a frame on a disabled pair may be dropped");
        Assert.That(four.JudgeLoopback(6, 2), Is.Empty, "or delivered on an enabled queue");
        var notLive = MqDeviceModel.Initial(Offered, 8).Negotiate(Offered).Next;
        Assert.That(notLive.JudgeLoopback(1, 1).Single().RequirementId, Is.EqualTo(Rule.CoreStatusDevNoUseBeforeDriverOk));
    });

    [Test]
    public void Negotiation_refuses_invalid_subsets()
    {
        var (m, ok) = MqDeviceModel.Initial(Offered, 8).Negotiate(FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetMq));
        Assert.That(ok, Is.False);
        Assert.That(m.Status & DeviceStatus.FeaturesOk, Is.EqualTo(DeviceStatus.None));
    }
}
