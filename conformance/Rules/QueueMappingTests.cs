using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Queue index mapping and steering (§5.1.2, §5.1.9.5.6): in a loopback topology a frame sent on transmitq k
/// comes back only on receiveq1..virtqueue_pairs, and (SHOULD) on receiveq k. Frames on transmitq k above the
/// current pairs probe what the device does with a driver that overruns, as Linux does briefly on restore.
/// </summary>
[TestFixture, Category("Queue index mapping")]
public sealed class QueueMappingTests
{
    public sealed record Send(int TxPair, int Flow)
    {
        public override string ToString() => $"transmitq{TxPair} flow {Flow}";
    }

    public sealed record Case(int MaxPairs, int Pairs, Send[] Sends)
    {
        public override string ToString() => $"max_virtqueue_pairs={MaxPairs}, VQ_PAIRS_SET({Pairs}), then {string.Join(", ", Sends.Select(s => s.ToString()))}";
    }

    public static Arbitrary<Case> Cases(SuiteContext ctx)
    {
        var gen = from m in Generators.MaxPairs(ctx)
                  let c = Math.Min(m, Generators.TrafficPairs)
                  from n in Gen.Choose(1, c)
                  from sends in Gen.Choose(1, c).SelectMany(k => Gen.Choose(0, 7).Select(f => new Send(k, f))).ArrayOf()
                  select new Case(m, n, sends);
        return Arb.From(gen, x =>
            Generators.ShrinkList(x.Sends, s => Generators.ShrinkPairs(s.TxPair).Select(k => s with { TxPair = k })).Select(ss => x with { Sends = ss })
                .Concat(Generators.ShrinkPairs(x.Pairs).Select(n => x with { Pairs = n }))
                .Concat(Generators.ShrinkPairs(x.MaxPairs, Math.Max(x.Pairs, x.Sends.Select(s => s.TxPair).DefaultIfEmpty(1).Max())).Select(m => x with { MaxPairs = m })));
    }

    /// <summary>Runs a case and judges each frame with the model, reporting only <paramref name="checkedIds"/>.</summary>
    public static Property Mapping(SuiteContext ctx, params string[] checkedIds) =>
        Prop.ForAll(Cases(ctx), c =>
        {
            using var s = ctx.Open(c.MaxPairs);
            var d = s.Driver;
            d.BeginNegotiation();
            var pairs = Math.Min(d.MaxPairs, Generators.TrafficPairs);
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), pairs);
            var model = PairsRangeTests.Model(d);
            // Pair 1 alone first: the one frame that needs no multiqueue rule at all.
            Probes.Loopback(d, model, 1, flow: 0, checkedIds);
            if (model.MultiqueueNegotiated) model = Probes.PairsSet(d, model, Math.Min(c.Pairs, pairs), Rule.NetMqDefVqPairsSet);
            Probes.LoopbackAll(d, model, c.Sends.Where(x => x.TxPair <= pairs).Select(x => (x.TxPair, x.Flow)), checkedIds);
        });

    /// <remarks>
    /// What the mandatory mapping check judges: where frames land, and that each one sent is delivered once, whole and
    /// with a used length that counts it (the driver judges every delivered frame, see FrameJudgement), steered by flow.
    /// Each mapping check reports only the rules it declares (its property runs after the field is set, hence the !).
    /// </remarks>
    public static readonly SuiteCheck EnabledQueuesOnly = new(nameof(Frames_come_back_only_on_enabled_receive_queues), ctx => Mapping(ctx, [.. EnabledQueuesOnly!.RequirementIds]),
        [Rule.NetVqDefLayout, Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevAutoSteering, Rule.NetTxDefSent, Rule.NetTxDefSentOnce,
         Rule.RingUsedDevWriteLenBytes], [Plane.Data]);

    public static readonly SuiteCheck FollowTx = new(nameof(Frames_are_steered_to_the_receiveq_of_their_transmitq), ctx => Mapping(ctx, [.. FollowTx!.RequirementIds]),
        [Rule.NetMqDevFollowTx], [Plane.Data]);

    [Test, Check]
    public void Frames_come_back_only_on_enabled_receive_queues() => Suite.Verify(EnabledQueuesOnly);

    [Test, Check, Category("Should")]
    public void Frames_are_steered_to_the_receiveq_of_their_transmitq() => Suite.Verify(FollowTx);
}
