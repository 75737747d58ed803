using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// A back-end that connects again (vhost-user server mode, the way DPDK's client=1 and Open vSwitch's dpdkvhostuserclient
/// run in production). The front-end closes the connection with traffic behind the rings; the back-end connects again,
/// and the front-end hands it the running device as QEMU does after a back-end restart: the features, the memory table,
/// each ring from its used index (SET_VRING_BASE), the enables. The back-end must take each ring up there: a frame on
/// every pair in use comes back, once, and no frame from before the reconnect comes back again.
/// </summary>
[TestFixture, Category("vhost-user")]
public sealed class VhostUserReconnectTests
{
    public sealed record Case(int Pairs, int Before)
    {
        public override string ToString() => $"{Pairs} pair(s), {Before} frame(s) over them, the back-end connects again, a frame on each pair";
    }

    private static Arbitrary<Case> Cases() =>
        Arb.From(
            from pairs in Gen.Choose(1, 4)
            // Mostly past a ring-full, so every base handed over is far from 0 and a back-end that starts at 0 shows.
            from before in Gen.Frequency((1, Gen.Choose(0, 6)), (3, Gen.Choose(60, 300)))
            select new Case(pairs, before),
            c => (c.Before > 0 ? [c with { Before = c.Before / 2 }] : Array.Empty<Case>()).Concat(c.Pairs > 1 ? [c with { Pairs = 1 }] : []));

    public static Property RingsResumeAfterReconnect(SuiteContext ctx) =>
        Prop.ForAll(Cases(), c =>
        {
            using var s = ctx.Open(4);
            var d = s.Driver;
            d.Initialize(pairs: 4);
            if (Needs.Capability<IBackEndReconnect>(s, Needs.ServerMode) is not { } backEnd) return;
            var pairs = d.Negotiated.Has(FeatureBit.NetMq) ? Math.Min(c.Pairs, d.ConfiguredPairs) : 1;
            if (pairs > 1 && d.VqPairsSet(pairs) != NetAck.Ok)
            {
                ThisCase.NotApplicable($"VQ_PAIRS_SET({pairs}) was refused by the suite's own front-end");
                return;
            }
            for (var i = 0; i < c.Before; i++)
            {
                var k = i % pairs + 1;
                Probes.Owed(d, k, i % 8, Rule.VuRingEnabledProcessing, $"frame {i} on transmitq{k}, before the reconnect, never came back");
            }
            // Everything used is taken back, so each ring's restart base is where the back-end left it.
            d.TryWaitUntil(() => Enumerable.Range(1, pairs).All(k => d.Queue(NetQueueLayout.Transmitq(k)) is var q && q.DeviceUsedIdx == q.PublishedIdx), d.Options.Timeout);
            d.ReapAllTransmitted();
            d.CollectReceived();
            d.ClearReceived();
            var bases = new Dictionary<int, uint>();
            uint BaseOf(int vq) => bases[vq] = d.Queue(vq).RestartVringBase;
            string? gone;
            try
            {
                gone = backEnd.Reconnect(BaseOf, d.Options.Timeout);
            }
            catch (DeviceProtocolException e) when (e.RequirementId is null)
            {
                throw Expect.Violated(Rule.VuSetBaseResume, $"the back-end connected again and refused the running rings: {e.Message}");
            }
            if (gone is not null)
            {
                ThisCase.NotApplicable($"the back-end was not handed the device again: {gone}");
                return;
            }
            string At(int vq) => d.Queue(vq).DescribeVringBase(bases[vq]);
            try
            {
                for (var k = 1; k <= pairs; k++)
                {
                    var tx = NetQueueLayout.Transmitq(k);
                    Probes.Owed(d, k, 40 + k, Rule.VuSetBaseResume,
                        $"after {c.Before} frame(s) the back-end connected again, and transmitq{k} was handed over at {At(tx)}, receiveq{k} at " +
                        $"{At(NetQueueLayout.Receiveq(k))}: a frame on transmitq{k} never came back");
                }
                d.TryWaitUntil(() => false, d.Device.SettleTime);
                d.CollectReceived();
            }
            catch (DeviceProtocolException e) when (e.RequirementId == Rule.NetTxDefSentOnce)
            {
                // A frame that comes back twice right after the handover: a ring taken up somewhere it had already been.
                throw Expect.Violated(Rule.VuSetBaseResume,
                    $"after {c.Before} frame(s) the back-end connected again and took the rings up at their used index, and a frame came back again: {e.Message}");
            }
            var again = d.Received.Select(r => TestFrames.TagOf(r.Frame)).Where(t => t is not null).ToList();
            Expect.That(again.Count == 0, Rule.VuSetBaseResume,
                $"after {c.Before} frame(s) the back-end connected again and took the rings up at their used index: {again.Count} frame(s) " +
                "sent before the reconnect came back again (the back-end resumed somewhere it had been)");
        });

    public static readonly SuiteCheck Reconnect = new(nameof(A_back_end_that_connects_again_takes_the_rings_up_where_they_stood), RingsResumeAfterReconnect,
        [Rule.VuSetBaseResume, Rule.VuRingEnabledProcessing], [Plane.Data], 20, vhostUserOnly: true);

    [Test, Check]
    public void A_back_end_that_connects_again_takes_the_rings_up_where_they_stood() => Suite.Verify(Reconnect);
}
