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
/// Stopping and resuming a ring at any point of its life (vhost-user GET_VRING_BASE / SET_VRING_BASE): split-ring
/// indices run free from 0 to 65535 and wrap, so after a few ring-fulls the base is far above the queue size.
/// Migration and suspend resume rings wherever they stopped; the back-end must answer the stop, take back the
/// base it gave, and go on from it.
/// </summary>
[TestFixture, Category("vhost-user")]
public sealed class VhostUserResumeTests
{
    public sealed record Case(int Before, int During)
    {
        public override string ToString() => $"{Before} frame(s) on transmitq1, stop, {During} more while stopped, resume";
    }

    private static Arbitrary<Case> Cases() =>
        Arb.From(
            from before in Gen.Frequency((1, Gen.Choose(0, 6)), (3, Gen.Choose(60, 160)))
            from during in Gen.Choose(1, 4)
            select new Case(before, during),
            c => (c.Before > 64 ? [c with { Before = 64 }] : Array.Empty<Case>())
                .Concat(c.During > 1 ? [c with { During = 1 }] : []));

    public static Property ResumeWhereverTheRingStopped(SuiteContext ctx) =>
        Prop.ForAll(Cases(), c =>
        {
            using var s = ctx.Open(2);
            var d = s.Driver;
            d.Initialize(pairs: 1);
            if (Needs.Capability<IRingSuspension>(s, Needs.RingSuspension) is not { } plane) return;
            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            for (var i = 0; i < c.Before; i++)
                Probes.Owed(d, 1, i % 8, Rule.VuRingEnabledProcessing, $"frame {i} on transmitq1 never came back");
            d.TryWaitUntil(() => tx.DeviceUsedIdx == tx.PublishedIdx, d.Options.Timeout);
            uint baseIdx;
            try
            {
                baseIdx = plane.StopBase(tx.Index) ?? throw new InvalidOperationException("transmitq1 was not started");
            }
            catch (DeviceProtocolException e)
            {
                throw Expect.Violated(Rule.VuGetBaseReplyLastAvail, $"GET_VRING_BASE for vring {tx.Index} after {c.Before} buffer(s) got no proper reply: {e.Message}");
            }
            Expect.That(baseIdx == tx.DrainedVringBase, Rule.VuGetBaseReplyLastAvail,
                $"after the back-end consumed all {tx.PublishedIdx} buffers of vring {tx.Index} (size {tx.Size}), GET_VRING_BASE answered " +
                $"{tx.DescribeVringBase(baseIdx)}, not {tx.DescribeVringBase(tx.DrainedVringBase)}");
            var tags = Enumerable.Range(0, c.During).Select(i => d.TransmitTagged(1, flow: 100 + i)).ToList();
            var back = new List<ulong>();
            try
            {
                plane.ResumeBase(tx.Index, baseIdx);
                d.TryWaitUntil(() =>
                {
                    foreach (var t in tags.Except(back)) if (d.Claim(t) is not null) back.Add(t);
                    return back.Count == tags.Count;
                }, d.Options.Timeout);
                d.TryWaitUntil(() => false, d.Device.SettleTime);
                d.CollectReceived();
            }
            catch (DeviceProtocolException e) when (e.RequirementId is null)
            {
                throw Expect.Violated(Rule.VuSetBaseResume, $"resuming vring {tx.Index} (size {tx.Size}) at base {baseIdx} failed: {e.Message}");
            }
            catch (DeviceProtocolException e) when (e.RequirementId == Rule.NetTxDefSentOnce)
            {
                // A frame repeated right after SET_VRING_BASE: the ring resumed somewhere it had already been.
                throw Expect.Violated(Rule.VuSetBaseResume, $"resumed vring {tx.Index} (size {tx.Size}) at base {baseIdx}, and a frame came back again: {e.Message}");
            }
            Expect.That(back.Count == tags.Count, Rule.VuSetBaseResume,
                $"resumed vring {tx.Index} (size {tx.Size}) at base {baseIdx}: {tags.Count - back.Count} of the {c.During} frame(s) queued while it was stopped never came back");
            var twice = d.Received.Select(r => TestFrames.TagOf(r.Frame)).FirstOrDefault(t => t is { } x && tags.Contains(x));
            Expect.That(twice is null, Rule.VuSetBaseResume, $"resumed vring {tx.Index} at base {baseIdx}: frame {twice} came back twice");
            var old = d.Received.Select(r => TestFrames.TagOf(r.Frame)).Where(t => t is not null).ToList();
            Expect.That(old.Count == 0, Rule.VuSetBaseResume,
                $"resumed vring {tx.Index} at base {baseIdx}: {old.Count} frame(s) sent before the stop came back again");
        });

    public static readonly SuiteCheck ResumeAnywhere = new(nameof(A_ring_resumes_at_any_index_GET_VRING_BASE_gave), ResumeWhereverTheRingStopped,
        [Rule.VuGetBaseReplyLastAvail, Rule.VuSetBaseResume], [Plane.Data], 20, vhostUserOnly: true);

    [Test, Check]
    public void A_ring_resumes_at_any_index_GET_VRING_BASE_gave() => Suite.Verify(ResumeAnywhere);
}
