using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Adapters.VhostUser;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// The queues as the driver sets them up (§2.7, §4.1.4.3): a split ring has any power-of-two size up to the
/// device's maximum, and the driver may pick a smaller one than offered, so a device runs rings of every such
/// size, down to one entry. A ring placed partly past the end of guest memory is the driver's fault; a careful
/// device refuses it (or gives up with DEVICE_NEEDS_RESET) instead of reading or writing beyond the memory it
/// was given, and its other queues keep working.
/// </summary>
[TestFixture, Category("Ring")]
public sealed class QueueSetupTests
{
    public sealed record SizeCase(int Size, int Frames, int Commands)
    {
        public override string ToString() => $"receiveq1, transmitq1 and the controlq of {Size} entries, {Frames} frame(s), {Commands} VQ_PAIRS_SET(1)";
    }

    /// <summary>
    /// Every power of two up to 256, each in every case (a draw met the one-entry ring in 1 case of 9), and sizes a packed
    /// ring may have and a split one may not (§2.8.10.1: no power-of-two rule), judged on packed rings only.
    /// </summary>
    private static readonly int[] Sizes = [.. Enumerable.Range(0, 9).Select(log => 1 << log), 3, 5, 12, 100];

    /// <summary>Each size with enough traffic to wrap its rings at least once; the traffic is what is random.</summary>
    public static Arbitrary<EveryVariant<SizeCase>> SizeCases { get; } = Variants.Each(Sizes, size =>
        from extra in Gen.Choose(1, 3)
        select new SizeCase(size, Math.Min(size + extra, 40), Math.Min(size + extra, 12)));

    /// <summary>The sub-cases the check used to spend on 20 cases of one size each.</summary>
    public static int SizeCaseCount { get; } = Variants.CasesFor(20, Sizes.Length);

    public static Property EveryQueueSizeWorks(SuiteContext ctx) =>
        Variants.ForEach(SizeCases, c =>
        {
            using var s = ctx.Open();
            var d = new NetDriver(s.Device, ctx.DriverOptions with { QueueSize = c.Size, SmallQueueSize = c.Size });
            d.BeginNegotiation();
            if (c.Size > s.Device.QueueMaxSize) { ThisCase.NotApplicable($"the device's rings hold at most {s.Device.QueueMaxSize} entries"); return; }
            if (ctx.Format == RingFormat.Split && (c.Size & (c.Size - 1)) != 0) { ThisCase.NotApplicable("a split ring's size is a power of two (§2.7)"); return; }
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            const string rule = Rule.RingDefQueueSize;
            for (var i = 0; i < c.Frames; i++)
            {
                var at = d.SendAndLocate(1, flow: i, d.ResponseWait);
                if (at is null) throw Probes.Lost(d, 1, rule, $"{c}: frame {i + 1} on transmitq1 never came back");
                Expect.That(at == 1, rule, $"{c}: frame {i + 1} on transmitq1 came back on receiveq{at}");
            }
            if (d.Layout.ControlqIndex is null || !d.Negotiated.Has(FeatureBit.NetMq)) return;
            // A command and its ack are two descriptors, and a driver keeps a chain within the queue size even through an
            // indirect table (§2.7.5.3.1, §2.8.19): a one-entry controlq carries no command, and a device that refuses
            // one there is careful, not wrong.
            if (c.Size < 2) return;
            for (var i = 0; i < c.Commands; i++)
            {
                NetAck ack;
                try
                {
                    ack = d.VqPairsSet(1, CommandFraming.OneReadable);
                }
                catch (DeviceProtocolException e) when (e.RequirementId is null)
                {
                    throw Expect.Violated(rule, $"{c}: command {i + 1}: {e.Message}");
                }
                Expect.That(ack == NetAck.Ok, rule, $"{c}: command {i + 1}, VQ_PAIRS_SET(1), was answered {ack}");
            }
        });

    public enum Target { Transmitq2, Controlq }

    /// <summary>Which part of the ring runs past the end of guest memory.</summary>
    public enum Cut
    {
        /// <summary>The last descriptor, which the chain ends on, outside.</summary>
        DescriptorTable,
        /// <summary>flags and idx inside, the ring entries outside.</summary>
        AvailableRing,
        /// <summary>flags and idx inside, the used elements outside.</summary>
        UsedRing,
    }

    public sealed record OutsideCase(Target Target, Cut Cut, bool EventIdx, int Flow)
    {
        public override string ToString() =>
            $"{Target} with its {Cut} running past the end of guest memory, a buffer on it, {(EventIdx ? "EVENT_IDX" : "no EVENT_IDX")}, then flow {Flow} on transmitq1";
    }

    private const int OutsideRingSize = 4;
    private const string OutsideRule = Rule.RobustRingQueueOutsideMemoryRefused;

    /// <summary>
    /// Every ring, every part cut and both used-ring layouts (with and without EVENT_IDX, whose used_event and avail_event
    /// move the ring's last bytes) in every case; only the flow sent afterwards is random.
    /// </summary>
    public static Arbitrary<EveryVariant<OutsideCase>> OutsideCases { get; } = Variants.Each(
        from target in Variants.Of<Target>() from cut in Variants.Of<Cut>() from eventIdx in new[] { false, true } select (target, cut, eventIdx),
        v => Gen.Choose(0, 99).Select(flow => new OutsideCase(v.target, v.cut, v.eventIdx, flow)));

    /// <summary>The sub-cases the check used to spend on 40 cases of one variant each.</summary>
    public static int OutsideCaseCount { get; } = Variants.CasesFor(40, Variants.Of<Target>().Length * Variants.Of<Cut>().Length * 2);

    public static Property QueuesPastTheEndOfMemoryAreRefused(SuiteContext ctx)
    {
        return Variants.ForEach(OutsideCases, c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            if (!c.EventIdx) features = features.Without(FeatureBit.EventIdx);
            else if (!features.Has(FeatureBit.EventIdx)) { ThisCase.NotApplicable("the device does not offer VIRTIO_F_EVENT_IDX"); return; }
            var pairs = c.Target == Target.Transmitq2 ? 2 : 1;
            if (c.Target == Target.Transmitq2 && (!features.Has(FeatureBit.NetMq) || d.MaxPairs < 2)) return;
            if (c.Target == Target.Controlq && !features.Has(FeatureBit.NetCtrlVq)) return;
            Probes.Negotiate(d, features);
            d.SetUpQueues(pairs);
            var vq = c.Target == Target.Controlq ? d.Layout.ControlqIndex!.Value : NetQueueLayout.Transmitq(2);
            var model = PairsRangeTests.Model(d);
            // The careful answers a device may give, each accepted below; anything else is a finding:
            //  1. It sets up the ring, never uses it, and its other queues keep working (the reference in-process, and
            //     its back-end without --check-ring-addresses, which leaves the ring unstarted when a kick comes).
            //  2. It gives up with DEVICE_NEEDS_RESET (QEMU's virtio_error); over vhost-user a back-end says so on the
            //     ring's error eventfd (SET_VRING_ERR) and the suite's device model sets the bit.
            //  3. Over vhost-user, it refuses the request that hands it the ring's addresses, SET_VRING_ADDR, or the
            //     SET_VRING_KICK that lets it start the ring, with a non-zero REPLY_ACK (vu.reply-ack.nonzero-on-failure):
            //     QEMU would then not start the device, so what is judged afterwards is that the back-end still serves a
            //     fresh initialization. A refusal of another request, of another ring, or a closed connection is not one.
            VhostUserRefusalException? refused = null;
            try
            {
                d.Device.SetupQueue(vq, PlaceAtTheEnd(d, c));
                d.SetDriverOk();
                if (c.Target == Target.Transmitq2) model = Probes.PairsSet(d, model, 2);
                d.Device.Kick(vq);
                d.TryWaitUntil(() => false, d.Device.SettleTime);
            }
            catch (VhostUserRefusalException e) when (e.Vring == vq && e.Request is VhostUserRequest.SetVringAddr or VhostUserRequest.SetVringKick)
            {
                refused = e;
            }
            catch (Exception e) when (e is not ConformanceViolationException || NeedsReset(d))
            {
                // Answer 2 given before the check asked its question: a device that has said DEVICE_NEEDS_RESET owes no
                // answer to what comes after (VQ_PAIRS_SET included), and the driver may not rely on one (§2.1.1).
                if (NeedsReset(d)) { ThisCase.Judged(); return; }
                throw Expect.Violated(OutsideRule, $"{c}: the device failed: {e.GetType().Name}: {e.Message}");
            }
            if (refused is null && NeedsReset(d)) { ThisCase.Judged(); return; } // answer 2
            var after = "afterwards";
            if (refused is not null)
            {
                // Answer 3: the device start stopped at the refusal, as QEMU's would; the driver resets and starts again.
                Probes.Initialize(d, features, 1);
                model = PairsRangeTests.Model(d);
                after = $"after the back-end refused {refused.Request.WireName()} for vring {vq} and a fresh initialization,";
            }
            int? at;
            try
            {
                at = d.SendAndLocate(1, c.Flow, d.ResponseWait);
            }
            catch (DeviceProtocolException e) when (e.RequirementId is null)
            {
                throw Expect.Violated(OutsideRule, $"{c}: {after} transmitq1 failed: {e.Message}");
            }
            Expect.That(at is { } p && p <= model.CurrentPairs, OutsideRule,
                $"{c}: {after} a frame on transmitq1 " + (at is { } q ? $"came back on receiveq{q}" : "never came back") + ", and the device did not set DEVICE_NEEDS_RESET");
        });
    }

    private static bool NeedsReset(NetDriver d) => (d.Device.ReadStatus() & DeviceStatus.DeviceNeedsReset) != 0;

    /// <summary>
    /// Builds a 4-entry ring by hand with one buffer made available (a frame on a transmitq, VQ_PAIRS_SET(1) on the
    /// controlq) and one of its parts running past the end of guest memory; the driver writes only the bytes inside.
    /// </summary>
    private static QueueRegisters PlaceAtTheEnd(NetDriver d, OutsideCase c)
    {
        var mem = d.Device.Memory;
        var end = d.Device.MemoryBase + d.Device.MemorySize;
        const int n = OutsideRingSize;
        var alloc = new GuestAllocator(d.Device.MemoryBase + d.Device.MemorySize / 2, d.Device.MemorySize / 4);
        var desc = c.Cut == Cut.DescriptorTable ? end - (ulong)(SplitRing.DescriptorSize * (n - 1)) : alloc.AllocateRing(SplitRing.DescriptorTableBytes(n), SplitRing.DescriptorAlign);
        var avail = c.Cut == Cut.AvailableRing ? end - 4 : alloc.AllocateRing(SplitRing.AvailRingBytes(n), SplitRing.AvailAlign);
        var used = c.Cut == Cut.UsedRing ? end - 4 : alloc.AllocateRing(SplitRing.UsedRingBytes(n), SplitRing.UsedAlign);
        if (c.Cut != Cut.DescriptorTable) mem.Span(desc, SplitRing.DescriptorTableBytes(n)).Clear();
        if (c.Cut != Cut.AvailableRing) mem.Span(avail, SplitRing.AvailRingBytes(n)).Clear();
        if (c.Cut != Cut.UsedRing) mem.Span(used, SplitRing.UsedRingBytes(n)).Clear();
        mem.Span(end - 4, 4).Clear();

        // The chain ends on the last descriptor, so with the table cut that one lies outside memory.
        byte[][] segments = c.Target == Target.Controlq
            ? [[NetControl.ClassMq, NetControl.MqVqPairsSet, 1, 0], [0xFF]]
            : [[.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(c.Flow + 1000, 0x0D7E5)]];
        var head = n - segments.Length;
        for (var i = 0; i < segments.Length; i++)
        {
            var slot = alloc.AllocateSlot();
            segments[i].CopyTo(mem.Span(slot, segments[i].Length));
            var at = desc + (ulong)(SplitRing.DescriptorSize * (head + i));
            var last = i == segments.Length - 1;
            var writable = c.Target == Target.Controlq && last;
            if (at + SplitRing.DescriptorSize > end) continue;
            mem.WriteU64(at, slot);
            mem.WriteU32(at + 8, (uint)segments[i].Length);
            mem.WriteU16(at + 12, (ushort)((writable ? SplitRing.DescFWrite : 0) | (last ? 0 : SplitRing.DescFNext)));
            mem.WriteU16(at + 14, (ushort)(head + i + 1));
        }
        if (avail + 6 <= end) mem.WriteU16(avail + 4, (ushort)head);
        mem.WriteU16Release(avail + 2, 1);
        return new QueueRegisters(n, desc, avail, used);
    }

    public static readonly SuiteCheck EverySize = new(nameof(Rings_of_every_size_the_driver_may_choose_work), EveryQueueSizeWorks,
        [Rule.RingDefQueueSize], [Plane.Data, Plane.Control], SizeCaseCount);

    public static readonly SuiteCheck OutsideMemory = new(nameof(A_ring_past_the_end_of_guest_memory_is_refused), QueuesPastTheEndOfMemoryAreRefused,
        [OutsideRule], [Plane.Data, Plane.Control], OutsideCaseCount,
        splitOnly: "it lays a split ring out by hand with one part past the end of guest memory; a packed ring's parts are other structures");

    [Test, Check]
    public void Rings_of_every_size_the_driver_may_choose_work() => Suite.Verify(EverySize);

    [Test, Check, Category("Robustness")]
    public void A_ring_past_the_end_of_guest_memory_is_refused() => Suite.Verify(OutsideMemory);
}
