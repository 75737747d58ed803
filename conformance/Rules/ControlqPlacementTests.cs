using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>Where the controlq is (§5.1.2): at 2N for N = max_virtqueue_pairs with MQ (or RSS), at 2 without.</summary>
[TestFixture, Category("Controlq placement")]
public sealed class ControlqPlacementTests
{
    public sealed record Case(int MaxPairs, FeatureSet Wish)
    {
        public override string ToString() => $"max_virtqueue_pairs={MaxPairs}, driver asks for {Wish}";
    }

    public static Property ControlqAnswersOnlyAtItsIndex(SuiteContext ctx)
    {
        var offered = DeviceFacts.Of(ctx).Offered;
        var gen = from m in Generators.MaxPairs(ctx)
                  from f in Generators.ValidSubset(offered)
                  select new Case(m, f.With(FeatureBit.NetCtrlVq));
        var arb = Arb.From(gen, c => Generators.ShrinkPairs(c.MaxPairs).Select(m => c with { MaxPairs = m })
            .Concat(Generators.ShrinkFeatures(c.Wish).Select(f => c with { Wish = f.With(FeatureBit.NetCtrlVq) })));
        return Prop.ForAll(arb, c =>
        {
            using var s = ctx.Open(c.MaxPairs);
            var d = s.Driver;
            var features = Generators.Close(c.Wish.Intersect(offered));
            if (!features.Has(FeatureBit.NetCtrlVq)) { ThisCase.NotApplicable("no controlq negotiated in this case: nothing to place"); return; }
            Probes.Initialize(d, features, pairs: 2);
            var layout = NetQueueLayout.For(features, d.MaxPairs, ctx.Version);
            var cvq = layout.ControlqIndex!.Value;
            var ack = d.TrySendCommandOn(cvq, NetControl.ClassMq, NetControl.MqVqPairsSet, Probes.Le16(1), Adapters.Driver.CommandFraming.OneReadable, d.ResponseWait);
            Expect.That(ack is (byte)NetAck.Ok or (byte)NetAck.Err, Rule.NetVqDefLayout,
                $"a command on vq {cvq} = 2N (N={layout.DataPairs}, negotiated {features}) got {(ack is null ? "no answer" : $"ack byte {ack}")}; the controlq must be there");
            if (layout.DataPairs >= 2)
            {
                var onTwo = d.TrySendCommandOn(2, NetControl.ClassMq, NetControl.MqVqPairsSet, Probes.Le16(1), Adapters.Driver.CommandFraming.OneReadable, d.Device.SettleTime);
                Expect.That(onTwo is null or 0xFF, Rule.NetVqDefLayout,
                    $"vq 2 is receiveq2 when N={layout.DataPairs}, but a command placed there was answered with ack {onTwo}: the device treats it as the controlq");
            }
        });
    }

    public static readonly SuiteCheck OnlyAt2N = new(nameof(Controlq_is_at_2N_and_nowhere_else), ControlqAnswersOnlyAtItsIndex,
        [Rule.NetVqDefLayout], [Plane.Control]);

    [Test, Check]
    public void Controlq_is_at_2N_and_nowhere_else() => Suite.Verify(OnlyAt2N);
}
