using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// VQ_PAIRS_MIN/MAX (§5.1.4.1, §5.1.9.5.6): max_virtqueue_pairs is 1..0x8000, every n in 1..max is accepted
/// and used. Rejecting 0 and n &gt; max is a robustness expectation: the spec forbids only the driver to send them.
/// </summary>
[TestFixture, Category("VQ_PAIRS_MIN/MAX")]
public sealed class PairsRangeTests
{
    public static Property ConfigRangeAndDependencies(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Generators.MaxPairs(ctx), m => Generators.ShrinkPairs(m)), m =>
        {
            using var s = ctx.Open(m);
            var d = s.Driver;
            d.BeginNegotiation(); // reads max_virtqueue_pairs before FEATURES_OK, which must be allowed
            if (FeatureRules.FirstUnsatisfied(d.Offered) is { } u)
                throw Expect.Violated(Rule.CoreFeatDevNoUnsatisfiedDependency, $"the device offers {u.Feature} without {u.Missing} (offered {d.Offered})");
            if (!d.Offered.Has(FeatureBit.NetMq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_MQ"); return; }
            var before = d.MaxPairs;
            Expect.That(before is >= NetControl.VqPairsMin and <= NetControl.VqPairsMax, Rule.NetCfgDevMaxPairsRange,
                $"max_virtqueue_pairs reads {before} with MQ offered; it must be 1..0x8000");
            Probes.Initialize(d, NetDriverDefaults(d.Offered), pairs: 1);
            var after = d.ReadConfigU16(NetConfig.MaxVirtqueuePairsOffset);
            Expect.That(after == before, Rule.CoreCfgDevReadableBeforeFeaturesOk,
                $"max_virtqueue_pairs read {before} before FEATURES_OK but {after} after DRIVER_OK; the early read must give the real value");
        });

    public sealed record AcceptCase(int MaxPairs, int Pairs)
    {
        public override string ToString() => $"max_virtqueue_pairs={MaxPairs}, VQ_PAIRS_SET({Pairs})";
    }

    public static Property EveryPairCountInRangeIsAcceptedAndUsed(SuiteContext ctx)
    {
        var gen = from m in Generators.MaxPairs(ctx)
                  from n in Gen.Frequency((2, Gen.Constant(1)), (2, Gen.Constant(m)), (6, Gen.Choose(1, m)))
                  select new AcceptCase(m, n);
        var arb = Arb.From(gen, c => Generators.ShrinkPairs(c.Pairs).Select(n => c with { Pairs = n })
            .Concat(Generators.ShrinkPairs(c.MaxPairs, c.Pairs).Select(m => c with { MaxPairs = m })));
        return Prop.ForAll(arb, c =>
        {
            using var s = ctx.Open(c.MaxPairs);
            var d = s.Driver;
            d.BeginNegotiation();
            if (!d.Offered.Has(FeatureBit.NetMq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_MQ"); return; }
            var features = NetDriverDefaults(d.Offered);
            var n = Math.Min(c.Pairs, d.MaxPairs);
            // The driver sets up every queue it is about to enable (§5.1.9.5.6.1).
            Probes.Initialize(d, features, pairs: n);
            var model = Probes.PairsSet(d, Model(d), n, Rule.NetMqDefVqPairsSet);
            d.Replenish(n);
            Probes.Loopback(d, model, n, flow: n, Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed, Rule.NetVqDefLayout);
        });
    }

    public sealed record RejectCase(int MaxPairs, int Before, int Bad)
    {
        public override string ToString() => $"max_virtqueue_pairs={MaxPairs}, VQ_PAIRS_SET({Before}) then VQ_PAIRS_SET({Bad})";
    }

    /// <summary>The out-of-range counts, one rule each for 0 and above the maximum, and above it both at its edge and far off.</summary>
    public enum OutOfRange { Zero, JustAboveMax, FarAboveMax }

    /// <summary>
    /// Every out-of-range count in every case, each with its own max_virtqueue_pairs and pairs set before. Where the
    /// maximum leaves no 16-bit count above it, the count above it is 0 again.
    /// </summary>
    public static Arbitrary<EveryVariant<RejectCase>> RejectCases(SuiteContext ctx) => Variants.Each(Variants.Of<OutOfRange>(), v =>
        from m in Generators.MaxPairs(ctx)
        from before in Gen.Choose(1, Math.Min(m, Generators.TrafficPairs))
        from bad in v == OutOfRange.Zero || m >= ushort.MaxValue ? Gen.Constant(0) : v == OutOfRange.JustAboveMax ? Gen.Constant(m + 1) : Gen.Choose(m + 1, ushort.MaxValue)
        select new RejectCase(m, before, bad),
        c => Generators.ShrinkPairs(c.Before).Select(b => c with { Before = b }).Concat(c.Bad > c.MaxPairs + 1 ? [c with { Bad = c.MaxPairs + 1 }] : []));

    /// <summary>The sub-cases the check used to spend on 100 cases of one count each.</summary>
    public static int RejectCaseCount { get; } = Variants.CasesFor(100, Variants.Of<OutOfRange>().Length);

    public static Property OutOfRangePairCountsAreRejected(SuiteContext ctx)
    {
        return Variants.ForEach(RejectCases(ctx), c =>
        {
            using var s = ctx.Open(c.MaxPairs);
            var d = s.Driver;
            d.BeginNegotiation();
            if (!d.Offered.Has(FeatureBit.NetMq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_MQ"); return; }
            var pairs = Math.Min(d.MaxPairs, Generators.TrafficPairs);
            Probes.Initialize(d, NetDriverDefaults(d.Offered), pairs);
            var before = Math.Min(c.Before, pairs);
            var bad = c.Bad == 0 ? 0 : Math.Max(c.Bad, d.MaxPairs + 1);
            var model = Probes.PairsSet(d, Model(d), before, Rule.NetMqDefVqPairsSet);
            model = Probes.PairsSet(d, model, bad, Rule.RobustMqPairsSetZeroRejected, Rule.RobustMqPairsSetAboveMaxRejected);
            // Unchanged state: the pairs set before still carry traffic, and nothing lands above them.
            Probes.LoopbackAll(d, model, Enumerable.Range(1, Math.Min(before + 1, pairs)).Select(k => (k, k)),
                Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed);
        });
    }

    /// <summary>The features the suite negotiates for multiqueue checks.</summary>
    public static FeatureSet NetDriverDefaults(FeatureSet offered) => Generators.Close(Adapters.Driver.NetDriver.DefaultRequest.Intersect(offered));

    /// <summary>The model of the device right after the driver's initialisation.</summary>
    public static MqDeviceModel Model(Adapters.Driver.NetDriver d) =>
        MqDeviceModel.Initial(d.Offered, d.MaxPairs).Negotiate(d.Negotiated).Next.DriverOk();

    public static readonly SuiteCheck ConfigRange = new(nameof(Max_virtqueue_pairs_is_in_range_and_MQ_comes_with_CTRL_VQ), ConfigRangeAndDependencies,
        [Rule.NetCfgDevMaxPairsRange, Rule.CoreCfgDevReadableBeforeFeaturesOk, Rule.CoreFeatDevNoUnsatisfiedDependency], [Plane.Control]);

    public static readonly SuiteCheck EveryPairCount = new(nameof(Every_pair_count_from_1_to_max_is_accepted_and_usable), EveryPairCountInRangeIsAcceptedAndUsed,
        [Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed], [Plane.Control, Plane.Data]);

    public static readonly SuiteCheck OutOfRangeRejected = new(nameof(Zero_and_above_max_are_rejected_without_state_change), OutOfRangePairCountsAreRejected,
        [Rule.RobustMqPairsSetZeroRejected, Rule.RobustMqPairsSetAboveMaxRejected], [Plane.Control, Plane.Data], RejectCaseCount);

    [Test, Check]
    public void Max_virtqueue_pairs_is_in_range_and_MQ_comes_with_CTRL_VQ() => Suite.Verify(ConfigRange);

    [Test, Check]
    public void Every_pair_count_from_1_to_max_is_accepted_and_usable() => Suite.Verify(EveryPairCount);

    [Test, Check, Category("Robustness")]
    public void Zero_and_above_max_are_rejected_without_state_change() => Suite.Verify(OutOfRangeRejected);
}
