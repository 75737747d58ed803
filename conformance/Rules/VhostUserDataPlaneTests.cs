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
/// Rules of the vhost-user protocol that only a back-end can break: the
/// started/enabled ring states, and stopping and resuming a ring with GET/SET_VRING_BASE. Not applicable to
/// a device reached any other way.
/// </summary>
[TestFixture, Category("vhost-user")]
public sealed class VhostUserDataPlaneTests
{
    /// <summary>A frame is "gone" once the device has had this long to bring it back and has not.</summary>
    private static TimeSpan Settle(NetDriver d) => d.Device.SettleTime;

    internal static IVhostUserBackEnd Backend(DriverSession s) =>
        s.Device.Capabilities.Get<IVhostUserBackEnd>() ?? throw new InvalidOperationException(Needs.VhostUserBackEnd);


    /// <summary>
    /// A started but disabled transmit ring is drained (its buffers come back used) and its frames go nowhere;
    /// a disabled receive ring gets nothing.
    /// </summary>
    public static Property DisabledRingsAreDrainedAndSilent(SuiteContext ctx) =>
        Prop.ForAll(Gen.Choose(1, 7).SelectMany(n => Gen.Choose(n + 1, 8).Select(k => (n, k))).ToArbitrary(), c =>
        {
            var (n, k) = c;
            using var s = ctx.Open(8);
            var d = s.Driver;
            d.BeginNegotiation();
            if (d.MaxPairs <= n) { ThisCase.NotApplicable($"the back-end has no pair above {n}"); return; }
            k = Math.Min(k, d.MaxPairs);
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), Math.Min(d.MaxPairs, Generators.TrafficPairs));
            // Start every ring with traffic first, so the disabled ones are started, not merely idle.
            Expect.That(d.VqPairsSet(k) == NetAck.Ok, Rule.VuRingEnabledProcessing, $"VQ_PAIRS_SET({k}) refused");
            Probes.Owed(d, k, 1, Rule.VuRingEnabledProcessing, $"with {k} pairs enabled, a frame on transmitq{k} never came back");
            Expect.That(d.VqPairsSet(n) == NetAck.Ok, Rule.VuRingEnabledProcessing, $"VQ_PAIRS_SET({n}) refused");
            d.ClearReceived();
            var tx = d.Queue(NetQueueLayout.Transmitq(k));
            var tag = d.TransmitTagged(k, flow: 2);
            var drained = d.TryWaitUntil(() => tx.DeviceUsedIdx == tx.PublishedIdx, d.Options.Timeout);
            Expect.That(drained, Rule.VuRingDisabledTxDiscard,
                $"transmitq{k} (vring {tx.Index}) was disabled by VQ_PAIRS_SET({n}); its buffer was never returned used (used idx {tx.DeviceUsedIdx}, avail idx {tx.PublishedIdx}): a disabled ring must still be processed");
            if (d.WaitForFrame(tag, Settle(d)) is { } h)
                throw h.Pair > n
                    ? Expect.Violated(Rule.VuRingDisabledRxNoPackets, $"a frame arrived on receiveq{h.Pair} (vring {NetQueueLayout.Receiveq(h.Pair)}), which VQ_PAIRS_SET({n}) disabled")
                    : Expect.Violated(Rule.VuRingDisabledTxDiscard, $"a frame sent on disabled transmitq{k} (vring {tx.Index}) was forwarded to receiveq{h.Pair}; a disabled ring's packets must be discarded");
        });

    /// <summary>
    /// GET_VRING_BASE stops a transmit ring and names the next buffer to process; buffers posted and kicked
    /// while stopped stay untouched; SET_VRING_BASE with that value resumes with each of them exactly once.
    /// </summary>
    public static Property StopAndResumeLosesNothing(SuiteContext ctx) =>
        Prop.ForAll(Gen.Choose(0, 6).SelectMany(before => Gen.Choose(1, 6).Select(during => (before, during))).ToArbitrary(), c =>
        {
            var (before, during) = c;
            using var s = ctx.Open(2);
            var d = s.Driver;
            d.Initialize(pairs: 1);
            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            for (var i = 0; i < before; i++)
                Probes.Owed(d, 1, i, Rule.VuRingEnabledProcessing, $"frame {i} on transmitq1 never came back");
            d.TryWaitUntil(() => tx.DeviceUsedIdx == tx.PublishedIdx, d.Options.Timeout);
            if (Needs.Capability<IRingSuspension>(s, Needs.RingSuspension) is not { } plane) return;
            var baseIdx = plane.StopBase(tx.Index) ?? throw new InvalidOperationException("transmitq1 was not started");
            Expect.That(baseIdx == tx.DrainedVringBase, Rule.VuGetBaseReplyLastAvail,
                $"after the back-end consumed all {tx.PublishedIdx} buffers of vring {tx.Index}, GET_VRING_BASE answered {tx.DescribeVringBase(baseIdx)}, not {tx.DescribeVringBase(tx.DrainedVringBase)}");
            var usedAtStop = tx.DeviceUsedIdx;
            var tags = Enumerable.Range(0, during).Select(i => d.TransmitTagged(1, flow: 100 + i)).ToList();
            d.TryWaitUntil(() => tx.DeviceUsedIdx != usedAtStop, Settle(d));
            Expect.That(tx.DeviceUsedIdx == usedAtStop, Rule.VuRingStopOnGetBase,
                $"vring {tx.Index} was stopped by GET_VRING_BASE, yet after {during} more kick(s) its used idx moved from {usedAtStop} to {tx.DeviceUsedIdx}");
            plane.ResumeBase(tx.Index, baseIdx);
            var back = new List<ulong>();
            try
            {
                d.TryWaitUntil(() =>
                {
                    foreach (var t in tags.Except(back)) if (d.Claim(t) is not null) back.Add(t);
                    return back.Count == tags.Count;
                }, d.Options.Timeout);
                Expect.That(back.Count == tags.Count, Rule.VuSetBaseResume,
                    $"resumed vring {tx.Index} at {baseIdx}: {tags.Count - back.Count} of the {during} frame(s) queued while it was stopped never came back");
                d.TryWaitUntil(() => false, Settle(d));
                d.CollectReceived();
            }
            catch (DeviceProtocolException e) when (e.RequirementId == Rule.NetTxDefSentOnce)
            {
                // A frame repeated right after SET_VRING_BASE: the ring resumed somewhere it had already been.
                throw Expect.Violated(Rule.VuSetBaseResume, $"resumed vring {tx.Index} at {baseIdx}, and a frame came back again: {e.Message}");
            }
            var twice = d.Received.Select(r => TestFrames.TagOf(r.Frame)).FirstOrDefault(t => t is { } x && tags.Contains(x));
            Expect.That(twice is null, Rule.VuSetBaseResume, $"resumed vring {tx.Index} at {baseIdx}: frame {twice} came back twice");
        });

    /// <summary>The back-end offers VHOST_USER_PROTOCOL_F_MQ, so a front-end can ask how many queues it serves.</summary>
    public static Property OffersMqProtocolFeature(SuiteContext ctx) =>
        Prop.ForAll(Gen.Constant(0).ToArbitrary(), _ =>
        {
            using var s = ctx.Open();
            Expect.That(Backend(s).QueueNum is not null, Rule.VuMqProtocolFeatureAdvertised,
                $"GET_PROTOCOL_FEATURES 0x{Backend(s).ProtocolFeatures:x} lacks VHOST_USER_PROTOCOL_F_MQ (bit 0)");
        });

    public static readonly SuiteCheck MqProtocolFeature = new(nameof(The_back_end_offers_the_MQ_protocol_feature), OffersMqProtocolFeature,
        [Rule.VuMqProtocolFeatureAdvertised], [Plane.Data], 1, vhostUserOnly: true);

    public static readonly SuiteCheck DisabledRings = new(nameof(Disabled_rings_are_drained_and_receive_nothing), DisabledRingsAreDrainedAndSilent,
        [Rule.VuRingDisabledTxDiscard, Rule.VuRingDisabledRxNoPackets, Rule.VuRingEnabledProcessing], [Plane.Data], 20, vhostUserOnly: true);

    public static readonly SuiteCheck StopAndResume = new(nameof(GET_VRING_BASE_stops_and_SET_VRING_BASE_resumes_without_loss_or_duplicates), StopAndResumeLosesNothing,
        [Rule.VuGetBaseReplyLastAvail, Rule.VuRingStopOnGetBase, Rule.VuSetBaseResume], [Plane.Data], 20, vhostUserOnly: true);

    [Test, Check, Category("Should")]
    public void The_back_end_offers_the_MQ_protocol_feature() => Suite.Verify(MqProtocolFeature);

    [Test, Check]
    public void Disabled_rings_are_drained_and_receive_nothing() => Suite.Verify(DisabledRings);

    [Test, Check]
    public void GET_VRING_BASE_stops_and_SET_VRING_BASE_resumes_without_loss_or_duplicates() => Suite.Verify(StopAndResume);
}
