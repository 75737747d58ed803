using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Device operation on every queue pair: nothing is consumed before DRIVER_OK (§2.1.2) and each received
/// packet is one buffer with num_buffers 1 and a used length that covers what was written (§5.1.9.4.1, §2.7.8.2).
/// </summary>
[TestFixture, Category("Device operation")]
public sealed class DeviceOperationTests
{
    public static Property NothingIsConsumedBeforeDriverOk(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Generators.MaxPairs(ctx), m => Generators.ShrinkPairs(m)), m =>
        {
            using var s = ctx.Open(m);
            var d = s.Driver;
            d.BeginNegotiation();
            Expect.That(d.AcceptFeatures(PairsRangeTests.NetDriverDefaults(d.Offered)), Rule.CoreFeatDevAcceptValidSubset, "FEATURES_OK refused");
            var pairs = Math.Min(d.MaxPairs, 2);
            d.SetUpQueues(pairs);
            var queues = Enumerable.Range(0, d.Layout.QueueCount).Where(d.HasQueue).ToList();
            // Buffers exposed, and kicked, before DRIVER_OK: a driver must not kick yet (§3.1.1), but the
            // device must wait for DRIVER_OK whatever the driver does.
            for (var k = 1; k <= pairs; k++) d.TransmitTagged(k, k);
            if (d.Layout.ControlqIndex is { } cvq)
                d.TrySendCommandOn(cvq, NetControl.ClassMq, NetControl.MqVqPairsSet, Probes.Le16(1), CommandFraming.OneReadable, TimeSpan.Zero);
            foreach (var vq in queues) d.Device.Kick(vq);
            // Writing the status again with the bits already set is allowed (only clearing one is not, §2.1.1), and
            // it is not DRIVER_OK either: a device that starts on any status write with FEATURES_OK would show here.
            d.Device.WriteStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk);
            foreach (var vq in queues) d.Device.Kick(vq);
            d.TryWaitUntil(() => false, d.Device.SettleTime);
            foreach (var vq in queues)
                Expect.That(d.Queue(vq).DeviceUsedIdx == 0, Rule.CoreStatusDevNoUseBeforeDriverOk,
                    $"vq {vq} ({d.Layout.Identify(vq)}) has used idx {d.Queue(vq).DeviceUsedIdx} before DRIVER_OK");
        });

    public static Property ReceivedPacketsAreWellFormed(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Gen.Choose(1, Generators.TrafficPairs).SelectMany(k => Gen.Choose(0, 99).Select(f => (Pair: k, Flow: f)))), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var pairs = Math.Min(d.MaxPairs, Generators.TrafficPairs);
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), pairs);
            var k = Math.Min(c.Pair, pairs);
            if (d.Negotiated.Has(FeatureBit.NetMq)) d.VqPairsSet(k);
            var sent = TestFrames.Udp(c.Flow, 0xC0FFEE);
            d.Transmit(k, sent);
            var got = d.WaitForFrame(0xC0FFEE, d.ResponseWait);
            if (got is null) throw Expect.Violated(Rule.NetTxDefSent, $"frame lost: sent on transmitq{k}, it never came back on any receiveq");
            // The spec's oracles: the header as the negotiated features allow it (num_buffers 1, flags and gso_type 0),
            // then the frame whole and a used length that counts it.
            Expect.Holds(FrameJudgement.JudgeHeader(got.Contents, d.Negotiated, got.Pair) ?? FrameJudgement.Judge(got.Contents, got.UsedLength, sent, got.Pair));
        });

    /// <summary>
    /// Once status reads 0 after a reset, the device leaves the old rings alone until it is initialised
    /// again (§2.4.1), even when the driver, wrongly, exposes buffers on them and kicks; and a new initialisation
    /// that sets up fewer queues does not bring the rings it left out back to life.
    /// </summary>
    public static Property ResetQuiesces(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Gen.Choose(1, 4), k => Generators.ShrinkPairs(k)), k =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var pairs = Math.Min(d.MaxPairs, k);
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), pairs);
            if (d.Negotiated.Has(FeatureBit.NetMq) && pairs > 1) d.VqPairsSet(pairs);
            for (var p = 1; p <= pairs; p++) d.SendAndLocate(p, flow: p, d.ResponseWait);
            var old = Enumerable.Range(0, d.Layout.QueueCount).Where(d.HasQueue).Select(d.Queue).ToList();
            d.Device.WriteStatus(DeviceStatus.None);
            Expect.That(d.TryWaitUntil(() => d.Device.ReadStatus() == DeviceStatus.None, d.Options.Timeout), Rule.CoreResetDevStatusZero,
                $"status reads {d.Device.ReadStatus()} after reset, not 0");
            var usedBefore = old.ToDictionary(q => q.Index, q => q.DeviceUsedIdx);
            foreach (var q in old.Where(q => d.Layout.Identify(q.Index).Role == QueueRole.Transmit))
            {
                q.Add([[.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(9, 0xDEAD)]], [], tag: "tx");
                q.Publish();
                d.Device.Kick(q.Index);
            }
            d.TryWaitUntil(() => old.Any(q => q.DeviceUsedIdx != usedBefore[q.Index]), d.Device.SettleTime);
            foreach (var q in old)
                Expect.That(q.DeviceUsedIdx == usedBefore[q.Index], Rule.CoreResetDevQuiesce,
                    $"after the reset completed, vq {q.Index} ({d.Layout.Identify(q.Index)}) had its used idx moved from {usedBefore[q.Index]} to {q.DeviceUsedIdx}");
            if (pairs < 2) return;

            // Initialised again with one pair, the driver's rings of the other pairs are no queues any more: their memory
            // (untouched, as the new rings take the place of the first ones) still holds the buffers exposed above.
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            var gone = old.Where(q => !d.HasQueue(q.Index)).ToList();
            d.TryWaitUntil(() => gone.Any(q => q.DeviceUsedIdx != usedBefore[q.Index]), d.Device.SettleTime);
            foreach (var q in gone)
                Expect.That(q.DeviceUsedIdx == usedBefore[q.Index], Rule.CoreResetDevQuiesce,
                    $"initialised again with 1 pair after the reset, the device used the old ring of vq {q.Index}, which the driver did not set up again (used idx {usedBefore[q.Index]} -> {q.DeviceUsedIdx})");
        });

    public static readonly SuiteCheck ResetQuiesced = new(nameof(After_reset_the_device_leaves_the_old_rings_alone), ResetQuiesces,
        [Rule.CoreResetDevQuiesce, Rule.CoreResetDevStatusZero], [Plane.Data], 20);

    public static readonly SuiteCheck NothingBeforeDriverOk = new(nameof(No_queue_is_used_before_DRIVER_OK), NothingIsConsumedBeforeDriverOk,
        [Rule.CoreStatusDevNoUseBeforeDriverOk], [Plane.Data], 20);

    public static readonly SuiteCheck WellFormedReceive = new(nameof(Received_packets_have_one_buffer_and_an_honest_length), ReceivedPacketsAreWellFormed,
        [Rule.NetRxDevNumBuffers1, Rule.RingUsedDevWriteLenBytes], [Plane.Data], 30);

    [Test, Check]
    public void After_reset_the_device_leaves_the_old_rings_alone() => Suite.Verify(ResetQuiesced);

    [Test, Check]
    public void No_queue_is_used_before_DRIVER_OK() => Suite.Verify(NothingBeforeDriverOk);

    [Test, Check]
    public void Received_packets_have_one_buffer_and_an_honest_length() => Suite.Verify(WellFormedReceive);
}
