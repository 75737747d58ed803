using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>Feature negotiation around MQ (§2.2.2, §5.1.3.1): valid subsets stick, MQ without CTRL_VQ does not.</summary>
[TestFixture, Category("Feature negotiation")]
public sealed class FeatureNegotiationTests
{
    public static Property ValidSubsetsAreAccepted(SuiteContext ctx)
    {
        var offered = DeviceFacts.Of(ctx).Offered;
        return Prop.ForAll(Arb.From(Generators.ValidSubset(offered), Generators.ShrinkFeatures), features =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            Expect.That(d.AcceptFeatures(features), Rule.CoreFeatDevAcceptValidSubset,
                $"FEATURES_OK did not stick for the valid subset {features} of {d.Offered}");
        });
    }

    public static Property MqWithoutCtrlVqIsRefused(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Gen.Constant(0)), _ =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            if (!d.Offered.Has(FeatureBit.NetMq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_MQ"); return; }
            var invalid = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetMq);
            Expect.That(!d.AcceptFeatures(invalid), Rule.RobustFeatInvalidSubsetRefused,
                $"FEATURES_OK stuck for {invalid}: MQ requires CTRL_VQ (§5.1.3.1), so the device should refuse the set");
        });

    public static readonly SuiteCheck ValidSubsets = new(nameof(Every_valid_feature_subset_is_accepted), ValidSubsetsAreAccepted,
        [Rule.CoreFeatDevAcceptValidSubset], [Plane.Control], 40);

    public static readonly SuiteCheck MqWithoutCtrlVq = new(nameof(MQ_without_CTRL_VQ_is_refused), MqWithoutCtrlVqIsRefused,
        [Rule.RobustFeatInvalidSubsetRefused], [Plane.Control], 1);

    [Test, Check, Category("Should")]
    public void Every_valid_feature_subset_is_accepted() => Suite.Verify(ValidSubsets);

    [Test, Check, Category("Robustness")]
    public void MQ_without_CTRL_VQ_is_refused() => Suite.Verify(MqWithoutCtrlVq);
}
