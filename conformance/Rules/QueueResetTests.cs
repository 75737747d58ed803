using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Per-virtqueue reset (VIRTIO_F_RING_RESET, §2.6.1) of a receiveq while traffic flows on the others: the device leaves the
/// reset queue alone, RSS drops what it names for it (§5.1.9.5.7.3), automatic steering picks another queue (§5.1.9.5.6.2),
/// and the queue enabled again works from its default state.
/// </summary>
[TestFixture, Category("Virtqueue reset")]
public sealed class QueueResetTests
{
    public sealed record ResetCase(int Pairs, int ResetPair, RssConfig? Rss, RssSend[] During, RssSend[] After)
    {
        public override string ToString() =>
            $"{Pairs} pair(s) {(Rss is null ? $"by VQ_PAIRS_SET({Pairs})" : $"by RSS_CONFIG({Rss})")}, receiveq{ResetPair} reset; during: " +
            $"{string.Join("; ", During.Select(x => x.ToString()))}; after re-enabling it: {string.Join("; ", After.Select(x => x.ToString()))}";
    }

    private static Gen<ResetCase> Cases(SuiteContext ctx, RssLimits? limits)
    {
        var facts = DeviceFacts.Of(ctx);
        var maxPairs = Math.Min(facts.MaxPairs, 8);
        return from pairs in Gen.Choose(Math.Min(2, maxPairs), maxPairs)
               from k in Gen.Choose(1, pairs)
               from rss in limits is null ? Gen.Constant(false) : Gen.Elements(false, true)
               from table in RssGenerators.Table(pairs, Math.Min(limits?.MaxIndirectionTableLength ?? 1, 128))
               from key in RssGenerators.Key
               from during in RssGenerators.Sends(pairs, 3, 10)
               from after in RssGenerators.Sends(pairs, 2, 6)
               let types = (NetHashTypes.IPv4 | NetHashTypes.TcpV4 | NetHashTypes.UdpV4 | NetHashTypes.IPv6 | NetHashTypes.TcpV6 | NetHashTypes.UdpV6) & (limits?.SupportedHashTypes ?? 0)
               select new ResetCase(pairs, k, rss ? new RssConfig(types, 0, table, (ushort)pairs, key) : null, during, after);
    }

    /// <summary>What both checks need of the device before any case: RING_RESET offered and a transport that can reset a queue.</summary>
    private static DeviceFacts RequireQueueReset(SuiteContext ctx)
    {
        var facts = DeviceFacts.Of(ctx);
        if (!facts.Offered.Has(FeatureBit.RingReset)) Suite.NotApplicable($"{ctx.Device}: the device does not offer VIRTIO_F_RING_RESET");
        Needs.Require<IQueueReset>(ctx, "the device's transport offers no per-queue reset");
        return facts;
    }

    /// <summary>Whether a case has something to judge once negotiated; says why not when it does not.</summary>
    private static bool Applicable(NetDriver d, int pairs)
    {
        if (!d.Negotiated.Has(FeatureBit.RingReset))
            ThisCase.NotApplicable("VIRTIO_F_RING_RESET could not be negotiated with the multiqueue features");
        // The rules are about a queue reset while other pairs carry traffic: a device with one pair has none.
        else if (pairs < 2 || !d.Negotiated.Has(FeatureBit.NetMq))
            ThisCase.NotApplicable("one queue pair (or no VIRTIO_NET_F_MQ): no other pair carries traffic while a queue is reset");
        else return true;
        return false;
    }

    /// <summary>
    /// Resets <paramref name="vq"/>, judges queue_enable on PCI, and returns the ring the driver let go with its used idx
    /// then: nothing the device does may move it (§2.6.1.1.1).
    /// </summary>
    private static (DriverVirtqueue Old, ushort UsedBefore) Reset(DriverSession s, int vq, object c)
    {
        var old = s.Driver.Queue(vq);
        var outcome = s.Driver.ResetQueue(vq);
        if (s.Device.Capabilities.Has<IPciTransport>())
            Expect.That(!outcome.EnabledAfter, Rule.XportPciDevQueueReset, $"{c}: queue_reset read back 0 but queue_enable of vq {vq} still reads 1");
        return (old, old.DeviceUsedIdx);
    }

    /// <summary>
    /// A frame the queue enabled again never carried: the device did not start it from its default state. Over vhost-user
    /// the queue came back as SET_VRING_BASE 0 and new addresses, so a ring that is not served then breaks the back-end's
    /// SET_VRING_BASE rule, which is where the reset goes wrong.
    /// </summary>
    private static ConformanceViolationException NotServedAgain(DriverSession s, string message, ushort usedBefore) =>
        s.Device.Capabilities.Has<IVhostUserBackEnd>()
            ? Expect.Violated(Rule.VuSetBaseResume, $"{message} (the front-end reset the ring with GET_VRING_BASE and set it up again from index 0)")
            : Expect.Violated(Rule.CoreVqresetDevStateDefault,
                message + (usedBefore != 0 ? $" (a device that resumed the queue at its old used idx {usedBefore} instead of 0 loses it)" : ""));

    public static Property ReceiveqReset(SuiteContext ctx)
    {
        var facts = RequireQueueReset(ctx);
        RssLimits? limits = null;
        if (facts.Offered.Has(FeatureBit.NetRss))
        {
            using var s = ctx.Open();
            s.Driver.BeginNegotiation();
            limits = s.Driver.ReadRssLimits();
        }
        return Prop.ForAll(Arb.From(Cases(ctx, limits)), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            Probes.Initialize(d, RssProbes.Features(d, rss: c.Rss is not null, hashReport: false, ringReset: true), c.Pairs);
            if (!Applicable(d, c.Pairs)) return;
            var model = PairsRangeTests.Model(d);
            model = c.Rss is { } rss ? RssProbes.Configure(d, model, rss, limits!) : Probes.PairsSet(d, model, c.Pairs, Rule.NetMqDefVqPairsSet);
            var vq = NetQueueLayout.Receiveq(c.ResetPair);
            var (old, usedBefore) = Reset(s, vq, c);
            foreach (var send in c.During)
            {
                if (c.Rss is not null)
                {
                    RssProbes.Send(d, model, send, $"receiveq{c.ResetPair} reset", p => p == c.ResetPair);
                    continue;
                }
                var frame = send.Frame();
                // Owed by a device that meets the SHOULD, so waited for as long as any answer: a busy back-end is not a drop.
                var got = d.SendAndReceive(send.TxPair, frame, d.ResponseWait);
                // Automatic steering should pick another queue; with every other queue there, a drop misses that SHOULD.
                if (got is null)
                    Expect.That(false, Rule.NetMqDevReselectOnVqReset, $"{c}: {send} was dropped while receiveq{c.ResetPair} was being reset, though {c.Pairs - 1} other receiveq(s) were in use");
            }
            // Nothing the device did may show on the reset ring: it must neither execute requests from it nor notify it.
            Expect.That(old.DeviceUsedIdx == usedBefore, Rule.CoreVqresetDevStop,
                $"{c}: the used idx of the reset receiveq{c.ResetPair} moved from {usedBefore} to {old.DeviceUsedIdx} after the reset");
            d.ClearReceived();
            d.ReenableQueue(vq);
            foreach (var send in c.After)
            {
                try
                {
                    if (c.Rss is not null) RssProbes.Send(d, model, send, $"receiveq{c.ResetPair} enabled again");
                    else _ = d.SendAndReceive(send.TxPair, send.Frame(), d.ResponseWait)
                        ?? throw Expect.Violated(Rule.NetTxDefSent, $"{c}: {send}: the frame never came back after receiveq{c.ResetPair} was enabled again");
                }
                catch (ConformanceViolationException e) when (e.Violation.RequirementId == Rule.NetTxDefSent)
                {
                    throw NotServedAgain(s, e.Violation.Message, usedBefore);
                }
            }
        });
    }

    public sealed record TransmitCase(int Pairs, int ResetPair, RssSend Stale, RssSend[] During, RssSend[] After)
    {
        public override string ToString() =>
            $"{Pairs} pair(s) by VQ_PAIRS_SET({Pairs}), transmitq{ResetPair} reset, {Stale.Packet?.ToString() ?? "ARP"} then put on its old ring and notified; " +
            $"during: {string.Join("; ", During.Select(x => x.ToString()))}; after re-enabling it: {string.Join("; ", After.Select(x => x.ToString()))}";
    }

    /// <summary>
    /// A transmitq reset while the other pairs carry traffic (QEMU issue #1451 is the class: a device that kept taking
    /// buffers from a transmitq being reset): a buffer the driver then puts on the old ring and notifies is never sent
    /// and never used, the other pairs carry on, and the queue enabled again sends from index 0.
    /// </summary>
    public static Property TransmitqReset(SuiteContext ctx)
    {
        var maxPairs = Math.Min(RequireQueueReset(ctx).MaxPairs, 8);
        var gen = from pairs in Gen.Choose(Math.Min(2, maxPairs), maxPairs)
                  from k in Gen.Choose(1, pairs)
                  from stale in RssGenerators.Sends(1, 1, 1)
                  from during in RssGenerators.Sends(pairs, 2, 8)
                  from after in RssGenerators.Sends(1, 1, 4)
                      // The driver sends nothing on the queue it reset until it enables it again; after that only there.
                  select new TransmitCase(pairs, k, stale[0] with { TxPair = k },
                      [.. during.Select(x => x.TxPair == k && pairs > 1 ? x with { TxPair = k % pairs + 1 } : x)],
                      [.. after.Select(x => x with { TxPair = k })]);
        return Prop.ForAll(Arb.From(gen), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            Probes.Initialize(d, RssProbes.Features(d, rss: false, hashReport: false, ringReset: true), c.Pairs);
            if (!Applicable(d, c.Pairs)) return;
            Probes.PairsSet(d, PairsRangeTests.Model(d), c.Pairs, Rule.NetMqDefVqPairsSet);
            var vq = NetQueueLayout.Transmitq(c.ResetPair);
            var (old, usedBefore) = Reset(s, vq, c);
            var stale = c.Stale.Frame();
            d.TransmitOnReset(old, stale);
            var backEnd = s.Device.Capabilities.Has<IVhostUserBackEnd>();
            foreach (var send in c.During)
                _ = d.SendAndReceive(send.TxPair, send.Frame(), d.ResponseWait)
                    // Over vhost-user the reset was one GET_VRING_BASE: a back-end that stopped its other rings with it breaks
                    // the rule that started, enabled rings are processed.
                    ?? throw Expect.Violated(backEnd ? Rule.VuRingEnabledProcessing : Rule.NetTxDefSent,
                        $"{c}: {send}: the frame never came back while transmitq{c.ResetPair} was reset" +
                        (backEnd ? $" (the front-end had sent GET_VRING_BASE for vring {vq} alone; transmitq{send.TxPair} and its receiveq stayed started and enabled)" : ""));
            var sent = d.WaitForFrame(stale, d.Device.SettleTime);
            Expect.That(sent is null, Rule.CoreVqresetDevStop,
                $"{c}: the frame put on the reset transmitq{c.ResetPair} came back on receiveq{sent?.Pair}: the device went on executing requests from it");
            Expect.That(old.DeviceUsedIdx == usedBefore, Rule.CoreVqresetDevStop,
                $"{c}: the used idx of the reset transmitq{c.ResetPair} moved from {usedBefore} to {old.DeviceUsedIdx} after the reset");
            d.ReenableQueue(vq);
            foreach (var send in c.After)
            {
                if (d.SendAndReceive(send.TxPair, send.Frame(), d.ResponseWait) is null)
                    throw NotServedAgain(s, $"{c}: {send}: the frame never came back from transmitq{c.ResetPair} enabled again", usedBefore);
            }
        });
    }

    public static readonly SuiteCheck Transmitq = new(nameof(A_transmitq_reset_is_left_alone_and_restarts_clean), TransmitqReset,
        [Rule.CoreVqresetDevStop, Rule.CoreVqresetDevStateDefault, Rule.XportPciDevQueueReset, Rule.NetTxDefSent, Rule.NetMqDefVqPairsSet, Rule.VuSetBaseResume,
         Rule.VuRingEnabledProcessing],
        [Plane.Control, Plane.Data], 20);

    [Test, Check]
    public void A_transmitq_reset_is_left_alone_and_restarts_clean() => Suite.Verify(Transmitq);

    public static readonly SuiteCheck Receiveq = new(nameof(A_receiveq_reset_while_traffic_flows_is_left_alone_and_restarts_clean), ReceiveqReset,
        [Rule.CoreVqresetDevStop, Rule.CoreVqresetDevStateDefault, Rule.NetRssDevDropOnVqReset, Rule.NetMqDevReselectOnVqReset, Rule.XportPciDevQueueReset,
         Rule.NetRssDevQueueSelection, Rule.NetTxDefSent, Rule.NetMqDefVqPairsSet, Rule.NetRssDefOffer, Rule.VuSetBaseResume], [Plane.Control, Plane.Data], 30);

    [Test, Check]
    public void A_receiveq_reset_while_traffic_flows_is_left_alone_and_restarts_clean() => Suite.Verify(Receiveq);
}
