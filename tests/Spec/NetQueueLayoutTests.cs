using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Spec;

[TestFixture]
public sealed class NetQueueLayoutTests
{
    private static readonly FeatureSet CtrlMq = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetCtrlVq, FeatureBit.NetMq);

    [TestCase(1, 0, 1)]
    [TestCase(2, 2, 3)]
    [TestCase(0x8000, 0xFFFE, 0xFFFF)]
    public void Pair_k_is_receiveq_2k_minus_2_and_transmitq_2k_minus_1(int k, int rx, int tx)
    {
        Assert.That(NetQueueLayout.Receiveq(k), Is.EqualTo(rx));
        Assert.That(NetQueueLayout.Transmitq(k), Is.EqualTo(tx));
    }

    [TestCase(0)]
    [TestCase(0x8001)]
    public void Pairs_outside_1_to_0x8000_are_refused(int k) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => NetQueueLayout.Receiveq(k));

    [Test]
    public void Controlq_is_at_2N_with_MQ_and_at_2_without() => Assert.Multiple(() =>
    {
        Assert.That(NetQueueLayout.For(CtrlMq, 8).ControlqIndex, Is.EqualTo(16));
        Assert.That(NetQueueLayout.For(CtrlMq.Without(FeatureBit.NetMq), 8).ControlqIndex, Is.EqualTo(2));
        Assert.That(NetQueueLayout.For(CtrlMq.Without(FeatureBit.NetCtrlVq), 8).ControlqIndex, Is.Null);
        Assert.That(NetQueueLayout.For(CtrlMq, 0x8000).ControlqIndex, Is.EqualTo(0x10000));
    });

    [Test]
    public void RSS_widens_N_only_from_1_2_on() => Assert.Multiple(() =>
    {
        var rss = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetCtrlVq, FeatureBit.NetRss);
        Assert.That(NetQueueLayout.For(rss, 4, SpecVersion.V1_4).ControlqIndex, Is.EqualTo(8));
        Assert.That(NetQueueLayout.For(rss, 4, SpecVersion.V1_1).ControlqIndex, Is.EqualTo(2));
    });

    [FsCheck.NUnit.Property(MaxTest = 500)]
    public Property Identify_inverts_the_index_functions() =>
        Prop.ForAll(Arb.From(Gen.Choose(1, NetControl.VqPairsMax).SelectMany(m => Gen.Choose(1, m).Select(k => (m, k)))), t =>
        {
            var layout = NetQueueLayout.For(CtrlMq, t.m);
            return layout.Identify(NetQueueLayout.Receiveq(t.k)) == new QueueIdentity(QueueRole.Receive, t.k)
                && layout.Identify(NetQueueLayout.Transmitq(t.k)) == new QueueIdentity(QueueRole.Transmit, t.k)
                && layout.Identify(2 * t.m) == new QueueIdentity(QueueRole.Control, 0)
                && layout.Identify(2 * t.m + 1).Role == QueueRole.None
                && layout.QueueCount == 2 * t.m + 1;
        });

    [Test]
    public void MQ_without_CTRL_VQ_is_not_a_valid_driver_subset()
    {
        var offered = CtrlMq;
        Assert.That(FeatureRules.IsValidDriverSubset(FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetMq), offered), Is.False);
        Assert.That(FeatureRules.IsValidDriverSubset(CtrlMq, offered), Is.True);
        Assert.That(FeatureRules.IsValidDriverSubset(CtrlMq.With(FeatureBit.NetRss), offered), Is.False, "not offered");
    }

    [Test]
    public void Feature_sets_reach_past_bit_63()
    {
        var s = FeatureSet.Of(FeatureBit.NetRssContext, FeatureBit.NetMq);
        Assert.That(s.Has(FeatureBit.NetRssContext) && s.Has(FeatureBit.NetMq) && !s.Has(FeatureBit.NetRss));
        Assert.That(s.Low64, Is.EqualTo(1UL << 22));
        Assert.That(s.ToString(), Is.EqualTo("{NetMq,NetRssContext}"));
    }
}
