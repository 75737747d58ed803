using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// The queue layout belongs to the negotiation in force (§5.1.2, §2.4): after a reset the driver may negotiate
/// other features, and the controlq moves with them (2N with MQ, 2 without, none without CTRL_VQ). Firmware
/// handing a device to an OS with another feature set does exactly this.
/// </summary>
[TestFixture, Category("Controlq placement")]
public sealed class RenegotiationTests
{
    public sealed record Case(int MaxPairs, FeatureSet First, FeatureSet Then)
    {
        public override string ToString() => $"max_virtqueue_pairs={MaxPairs}, first {First}, after reset {Then}";
    }

    public static Property ControlqFollowsTheLatestNegotiation(SuiteContext ctx)
    {
        var offered = DeviceFacts.Of(ctx).Offered;
        // Half the cases have a controlq at first and turn MQ over after the reset, with at least 2 pairs, so the
        // controlq moves (2N and 2). Two feature sets drawn apart move it in about one case in ten, and a device that
        // keeps its first controlq could pass 40 such cases (the zoo's cvq-role-survives-reset did, now and then).
        var gen = from m in Generators.MaxPairs(ctx)
                  from first in Generators.ValidSubset(offered)
                  from flip in Gen.Elements(false, true)
                  from other in Generators.ValidSubset(offered)
                  select flip
                      ? new Case(Math.Max(m, 2), first.With(FeatureBit.NetCtrlVq), MqTurnedOver(first.With(FeatureBit.NetCtrlVq)))
                      : new Case(m, first, other);
        var arb = Arb.From(gen, c => Generators.ShrinkPairs(c.MaxPairs).Select(m => c with { MaxPairs = m })
            .Concat(Generators.ShrinkFeatures(c.First).Select(f => c with { First = f }))
            .Concat(Generators.ShrinkFeatures(c.Then).Select(f => c with { Then = f })));
        return Prop.ForAll(arb, c =>
        {
            using var s = ctx.Open(c.MaxPairs);
            var d = s.Driver;
            d.BeginNegotiation();
            var first = Generators.Close(c.First.Intersect(d.Offered));
            var then = Generators.Close(c.Then.Intersect(d.Offered));
            Probes.Initialize(d, first, pairs: 2);
            var before = NetQueueLayout.For(first, d.MaxPairs, ctx.Version).ControlqIndex;
            // Use the first controlq, so the device has really taken that queue for one.
            if (before is { } used)
                d.TrySendCommandOn(used, NetControl.ClassMq, NetControl.MqVqPairsSet, Probes.Le16(1), Adapters.Driver.CommandFraming.OneReadable, d.ResponseWait);
            Probes.Initialize(d, then, pairs: 2);
            var layout = NetQueueLayout.For(then, d.MaxPairs, ctx.Version);
            var what = $"after a reset, {then} negotiated where {first} was before";
            if (layout.ControlqIndex is { } cvq)
            {
                var ack = d.TrySendCommandOn(cvq, NetControl.ClassMq, NetControl.MqVqPairsSet, Probes.Le16(1), Adapters.Driver.CommandFraming.OneReadable, d.ResponseWait);
                Expect.That(ack is (byte)NetAck.Ok or (byte)NetAck.Err, Rule.NetVqDefLayout,
                    $"{what}: a command on vq {cvq}, the controlq now, got {(ack is null ? "no answer" : $"ack byte {ack}")}");
            }
            if (before is not { } old || old == layout.ControlqIndex) return;
            // A device whose old controlq index is no virtqueue of its any more (QEMU shrinks num_queues without MQ) cannot act on it.
            if (!d.HasQueue(old) && old >= d.Device.NumQueues) { ThisCase.Judged(); return; }
            if (!d.HasQueue(old)) d.AddQueue(old, d.Options.QueueSize);
            var stale = d.TrySendCommandOn(old, NetControl.ClassMq, NetControl.MqVqPairsSet, Probes.Le16(1), Adapters.Driver.CommandFraming.OneReadable, d.Device.SettleTime);
            // Where the old index is a receiveq or transmitq now, any answer means the device read a command off a data queue.
            // Where the layout has no queue there any more, the driver broke the layout first by setting one up; a device that
            // refuses what it finds there (VIRTIO_NET_ERR, no state changed) answered carefully, one that says OK acted on it.
            // QEMU keeps its controlq as its last queue whatever the features, and answers ERR there.
            var refusedCarefully = stale == (byte)NetAck.Err && layout.Identify(old).Role == QueueRole.None;
            Expect.That(stale is null or 0xFF || refusedCarefully, Rule.NetVqDefLayout,
                $"{what}: vq {old} was the controlq only under the old features ({layout.Identify(old)} now), yet a command there was answered with ack {stale}");
        });
    }

    private static FeatureSet MqTurnedOver(FeatureSet features) =>
        features.Has(FeatureBit.NetMq) ? features.Without(FeatureBit.NetMq) : features.With(FeatureBit.NetMq).With(FeatureBit.NetCtrlVq);

    public static readonly SuiteCheck ControlqMoves = new(nameof(The_controlq_moves_with_the_features_negotiated_after_reset), ControlqFollowsTheLatestNegotiation,
        [Rule.NetVqDefLayout], [Plane.Control], 40);

    [Test, Check]
    public void The_controlq_moves_with_the_features_negotiated_after_reset() => Suite.Verify(ControlqMoves);
}
