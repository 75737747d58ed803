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
/// The split ring's avail idx and used idx are free-running 16-bit counters that wrap from 65535 to 0 (§2.7.6,
/// §2.7.8). A device that compares them as plain integers, or restarts at the wrap, works for the first 65,535
/// buffers of a ring and then stalls, loses or repeats buffers: every ring of a long-lived guest gets there. These
/// checks take every ring kind across the wrap. In-process a reset restarts the rings at 0, so they push more than
/// 65,536 buffers through (a ring-full per kick keeps that well under a second); over vhost-user the front-end
/// resumes the rings just below 65535 (SET_VRING_BASE), as after a migration, and a few hundred buffers suffice.
/// </summary>
[TestFixture, Category("Ring")]
public sealed class IndexWrapTests
{
    public const string AvailWrap = Rule.RingAvailDevIdxWrap;
    public const string UsedWrap = Rule.RingUsedDevIdxWrap;
    private const string PairsSetRule = Rule.NetMqDefVqPairsSet;

    /// <summary>Ring indices are 16 bits wide: a ring that started at 0 wraps with its 65,536th buffer.</summary>
    private const int Wrap = 1 << 16;

    // Every frame of a case is one flow, so a device that steers per flow puts them all on one receiveq and that
    // ring wraps with the transmitq; tags start far from the other checks' so a stray frame is never counted.
    private const int Flow = 7;
    private const ulong TagBase = 0x57A9_0000_0000;

    /// <param name="Pairs">VQ_PAIRS_SET before sending (capped at what the device offers).</param>
    /// <param name="Pair">The transmitq the frames go on.</param>
    /// <param name="Batch">Buffers made available per kick.</param>
    /// <param name="Lead">Over vhost-user: how far below 65536 the rings resume, so the wrap comes after Lead buffers.</param>
    public sealed record DataCase(int Pairs, int Pair, int Batch, int Lead)
    {
        public override string ToString() =>
            $"VQ_PAIRS_SET({Pairs}), frames on transmitq{Pair}, {Batch} per kick (over vhost-user the rings resume at idx {Wrap - Lead})";
    }

    private static Gen<DataCase> DataCases =>
        from pairs in Gen.Choose(1, 4)
        from pair in Gen.Choose(1, pairs)
        from batch in Gen.Elements(7, 32, 64)
        from lead in Gen.Frequency((1, Gen.Choose(1, 3)), (3, Gen.Choose(4, 200)))
        select new DataCase(pairs, pair, batch, lead);

    /// <summary>What the driver knows of one ring: where its used idx started and how many buffers it took back.</summary>
    private sealed class Tally(DriverVirtqueue q, string name, ushort start)
    {
        public DriverVirtqueue Queue { get; } = q;
        public string Name { get; } = name;
        public ushort Start { get; } = start;
        public int Taken { get; set; }

        /// <summary>Buffers made available since the check began.</summary>
        public int Offered { get; set; }
        public ushort ExpectedUsed => (ushort)(Start + Taken);

        /// <summary>Whether the avail idx has passed 65535 → 0 since the check began.</summary>
        public bool AvailWrapped => Start + Offered >= Wrap;

        public string State => $"{Name} (vq {Queue.Index}, size {Queue.Size}): avail idx {Queue.PublishedIdx}, used idx {Queue.DeviceUsedIdx}, " +
            $"started at {Start}, {Offered} buffer(s) made available, {Taken} taken back, {Queue.Outstanding} with the device";
    }

    public static Property DataRingsCrossTheWrap(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(DataCases), c =>
        {
            using var s = ctx.Open();
            var startsAnywhere = s.Device.Capabilities.Has<IRingStartIndex>();
            var start = startsAnywhere ? (ushort)(Wrap - c.Lead) : (ushort)0;
            // A driver of its own: the session's driver starts rings at 0, and only a front-end may start them elsewhere. The
            // controlq stays at 0: this check is about the data rings, which over vhost-user are another program's.
            var d = new NetDriver(s.Device, ctx.DriverOptions with { DataRingStartIndex = start });
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            var pairs = Math.Min(c.Pairs, features.Has(FeatureBit.NetMq) ? Math.Min(d.MaxPairs, Generators.TrafficPairs) : 1);
            var pair = Math.Min(c.Pair, pairs);
            Probes.Initialize(d, features, pairs);
            if (pairs > 1) Probes.PairsSet(d, PairsRangeTests.Model(d), pairs, PairsSetRule);

            var tx = new Tally(d.Queue(NetQueueLayout.Transmitq(pair)), $"transmitq{pair}", start);
            var rxs = Enumerable.Range(1, pairs).Select(p => new Tally(d.Queue(NetQueueLayout.Receiveq(p)), $"receiveq{p}", start)).ToList();
            // The driver posted receive buffers while initialising; they count as made available.
            foreach (var rx in rxs) rx.Offered = rx.Queue.Outstanding;
            var total = (startsAnywhere ? c.Lead : Wrap) + 2 * tx.Queue.Size;
            var arrived = new bool[total];
            var arrivals = 0;

            void TakeBack(Tally t, Action<UsedBuffer> onUsed)
            {
                var ahead = (ushort)(t.Queue.DeviceUsedIdx - t.ExpectedUsed);
                if (ahead > t.Queue.Outstanding)
                    throw Expect.Violated(UsedWrap, $"{c}: used idx of {t.Name} went from {t.ExpectedUsed} to {t.Queue.DeviceUsedIdx}, {ahead} entries ahead " +
                        $"(mod 65536) with only {t.Queue.Outstanding} buffer(s) with the device: it did not go up by one per used buffer; {t.State}");
                while (true)
                {
                    UsedBuffer? u;
                    try
                    {
                        u = t.Queue.TakeUsed();
                    }
                    catch (DeviceProtocolException e)
                    {
                        throw Expect.Violated(UsedWrap, $"{c}: at used idx {t.ExpectedUsed} of {t.Name} {e.Message} (a buffer returned twice, or an entry the " +
                            $"device never wrote); {t.State}");
                    }
                    if (u is null) return;
                    t.Taken++;
                    onUsed(u);
                }
            }

            void Reap()
            {
                TakeBack(tx, _ => { });
                foreach (var rx in rxs)
                    TakeBack(rx, u =>
                    {
                        var frame = u.Written.AsSpan(Math.Min(SplitRing.NetHeaderSize, u.Written.Length));
                        if (TestFrames.TagOf(frame) is not { } tag || tag < TagBase || tag >= TagBase + (ulong)total) return;
                        var i = (int)(tag - TagBase);
                        // A frame twice: after the avail idx wrapped, the device read old avail entries again (the wrap's rule);
                        // before it, a duplicate is a duplicate (net.tx.def.sent-once), whatever this check is about.
                        Expect.That(!arrived[i], tx.AvailWrapped ? AvailWrap : Rule.NetTxDefSentOnce,
                            $"{c}: frame {i} came back a second time on {rx.Name}; the device took its transmit buffer twice; {tx.State}; {rx.State}");
                        arrived[i] = true;
                        arrivals++;
                    });
            }

            var sent = 0;
            while (sent < total)
            {
                // Every receive buffer a ring holds is posted before frames go out, so none is dropped for want of room.
                foreach (var rx in rxs)
                {
                    while (rx.Queue.Add([], [d.Options.ReceiveBufferBytes], tag: "rx") is not null) rx.Offered++;
                    d.PublishAndKick(rx.Queue);
                }
                var batch = Math.Min(Math.Min(c.Batch, total - sent), Math.Min(tx.Queue.FreeDescriptors, rxs.Min(r => r.Queue.Outstanding)));
                for (var i = 0; i < batch; i++)
                {
                    tx.Queue.Add([[.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(Flow, TagBase + (ulong)(sent + i))]], [], tag: "tx");
                    tx.Offered++;
                }
                sent += batch;
                d.PublishAndKick(tx.Queue);
                // In-process the device finishes within the kick (ResponseWait is zero); over a socket it gets the timeout, once.
                d.TryWaitUntil(() => { Reap(); return tx.Queue.Outstanding == 0 && arrivals == sent; }, d.ResponseWait);
                Reap();
                if (tx.Queue.Outstanding > 0)
                    throw Stalled(c, tx, $"{tx.Queue.Outstanding} of the {batch} frame(s) just made available on {tx.Name} never came back used", Rule.RingUsedDefReturnsBuffers);
                if (arrivals < sent)
                {
                    var missing = Enumerable.Range(0, sent).First(i => !arrived[i]);
                    var what = $"{sent - arrivals} of the {sent} frame(s) sent on {tx.Name} never came back (the first is frame {missing}) although every receiveq had buffers posted";
                    // Frames sent after the missing one came back: the ring works across where it stands, and frames were lost.
                    if (Enumerable.Range(missing + 1, sent - missing - 1).Any(i => arrived[i]))
                        throw Expect.Violated(Rule.NetTxDefSent, $"{c}: frame lost: {what}, and frames sent after it came back; {tx.State}");
                    // The receiveq that took buffers and never published them, else one whose avail idx wrapped, else any.
                    var rx = rxs.FirstOrDefault(r => TakenUnpublished(r.Queue) > 0) ?? rxs.FirstOrDefault(r => r.AvailWrapped) ?? rxs[0];
                    // Before any index wrapped, frames that never came back are lost frames, not a wrap bug.
                    throw Stalled(c, rx, what, Rule.NetTxDefSent, string.Join("; ", rxs.Where(r => r != rx).Select(r => r.State)));
                }
            }
            // A device that repeats old entries after the wrap does it late as often as not: give it the settle time.
            d.TryWaitUntil(() => { Reap(); return false; }, d.Device.SettleTime);
            Reap();
            foreach (var t in rxs.Prepend(tx))
                Expect.That((ushort)(t.Queue.DeviceUsedIdx - t.Start) == (ushort)t.Taken, UsedWrap,
                    $"{c}: {t.Name} returned {t.Taken} buffer(s) but its used idx moved by {(ushort)(t.Queue.DeviceUsedIdx - t.Start)} (mod 65536); {t.State}");
            Expect.That(tx.Queue.DeviceUsedIdx == tx.Queue.PublishedIdx && (ushort)(tx.Queue.PublishedIdx - start) == (ushort)total, UsedWrap,
                $"{c}: after {total} frames {tx.Name}'s used idx is {tx.Queue.DeviceUsedIdx}, not its avail idx {tx.Queue.PublishedIdx}; {tx.State}");
        });

    /// <summary>
    /// Buffers the device says it took (its avail_event, with EVENT_IDX) beyond those it published used; 0 when it
    /// does not say. Tells a used idx that stopped at the wrap from an avail idx the device stopped reading.
    /// </summary>
    private static int TakenUnpublished(DriverVirtqueue q) =>
        q.DeviceAvailEvent is { } seen && (ushort)(seen - q.DeviceUsedIdx) <= q.Outstanding ? (ushort)(seen - q.DeviceUsedIdx) : 0;

    /// <summary>
    /// Names what a ring that stopped returning buffers broke: buffers taken but never published used once used idx
    /// reached the wrap are the used ring's; buffers left untaken once avail idx wrapped are the available ring's;
    /// a ring that stopped before either wrapped breaks <paramref name="otherwise"/>, not a wrap rule.
    /// </summary>
    private static ConformanceViolationException Stalled(object c, Tally t, string what, string otherwise, string more = "")
    {
        var unpublished = TakenUnpublished(t.Queue);
        var after = more.Length > 0 ? $"; {more}" : "";
        if (unpublished > 0 && t.Start + t.Taken + unpublished >= Wrap)
            return Expect.Violated(UsedWrap, $"{c}: {what}; the device took {unpublished} buffer(s) of {t.Name} (avail_event {t.Queue.DeviceAvailEvent}) " +
                $"but its used idx stopped at {t.Queue.DeviceUsedIdx} instead of wrapping from 65535 to 0; {t.State}{after}");
        if (t.AvailWrapped)
            return Expect.Violated(AvailWrap, $"{c}: {what}; the avail idx of {t.Name} had wrapped from 65535 to 0 and the device took no buffer " +
                $"after it{(t.Queue.DeviceAvailEvent is { } e ? $" (avail_event {e})" : "")}; {t.State}{after}");
        return Expect.Violated(otherwise, $"{c}: {what}, before any index of {t.Name} wrapped; {t.State}{after}");
    }

    /// <param name="Lead">Over vhost-user: how far below 65536 the controlq resumes.</param>
    public sealed record ControlCase(int Lead)
    {
        public override string ToString() => $"VQ_PAIRS_SET alternating between 1 and the pairs set up (over vhost-user the controlq resumes at idx {Wrap - Lead})";
    }

    private static Gen<ControlCase> ControlCases => Gen.Frequency((1, Gen.Choose(1, 3)), (3, Gen.Choose(4, 200))).Select(lead => new ControlCase(lead));

    public static Property ControlqCrossesTheWrap(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(ControlCases), c =>
        {
            // Two pairs are enough to see a command take effect, and in-process keep each of the 65,536 commands cheap.
            using var s = ctx.Open(2);
            var startsAnywhere = s.Device.Capabilities.Has<IRingStartIndex>();
            var start = startsAnywhere ? (ushort)(Wrap - c.Lead) : (ushort)0;
            var d = new NetDriver(s.Device, ctx.DriverOptions with { ControlqStartIndex = start });
            d.BeginNegotiation();
            // VQ_PAIRS_SET is the command every multiqueue device must act on; without MQ there is nothing to drive.
            if (!d.Offered.Has(FeatureBit.NetMq) || !d.Offered.Has(FeatureBit.NetCtrlVq))
            {
                ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_MQ and VIRTIO_NET_F_CTRL_VQ: no VQ_PAIRS_SET to send");
                return;
            }
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            var pairs = Math.Min(2, d.MaxPairs);
            Probes.Initialize(d, features, pairs);
            var cvq = d.Queue(d.Layout.ControlqIndex!.Value);
            var total = (startsAnywhere ? c.Lead : Wrap) + cvq.Size;
            string State(int i) => $"controlq (vq {cvq.Index}, size {cvq.Size}) after {i} of {total} command(s) from idx {start}: " +
                $"avail idx {cvq.PublishedIdx}, used idx {cvq.DeviceUsedIdx}, {cvq.Outstanding} with the device";
            for (var i = 0; i < total; i++)
            {
                var wrapped = start + i + 1 >= Wrap; // publishing this command took the avail idx past 65535
                var n = pairs == 1 || i % 2 == 1 ? 1 : pairs;
                NetAck ack;
                try
                {
                    ack = d.VqPairsSet(n);
                }
                catch (DeviceTimeoutException e)
                {
                    var t = new Tally(cvq, "the controlq", start) { Taken = i, Offered = i + 1 };
                    throw Stalled(c, t, $"VQ_PAIRS_SET({n}) was never answered ({e.Message})", Rule.NetVqDefLayout);
                }
                catch (DeviceProtocolException e) when (e.RequirementId is null)
                {
                    throw Expect.Violated(UsedWrap, $"{c}: VQ_PAIRS_SET({n}): {e.Message}; {State(i)}");
                }
                Expect.That(ack == NetAck.Ok, PairsSetRule, $"{c}: VQ_PAIRS_SET({n}) within 1..{d.MaxPairs} was answered {ack}; {State(i + 1)}");
                Expect.That(cvq.DeviceUsedIdx == (ushort)(start + i + 1) && cvq.Outstanding == 0, UsedWrap,
                    $"{c}: after {i + 1} command(s) each answered once the controlq's used idx should read {(ushort)(start + i + 1)}; {State(i + 1)}");
                // Whether the command took effect is looked at around the wrap and now and then, not 65,536 times.
                var nearWrap = Math.Abs(start + i + 1 - Wrap) <= cvq.Size;
                if (!nearWrap && i % 8192 != 0 && i != total - 1) continue;
                var at = d.SendAndLocate(n, Flow + i % 64, d.ResponseWait);
                if (at is null) Probes.ThrowIfOneFrameLost(d, n, $"{c}: a frame sent on transmitq{n} after VQ_PAIRS_SET({n}) never came back");
                Expect.That(at is { } p && p <= n, PairsSetRule,
                    $"{c}: VQ_PAIRS_SET({n}) was acked OK{(wrapped ? " past the controlq's wrap" : "")}, but a frame sent on transmitq{n} " +
                    $"{(at is null ? "never came back" : $"came back on receiveq{at}")}; {State(i + 1)}");
            }
        });

    public static readonly SuiteCheck DataRings = new(nameof(Receive_and_transmit_rings_keep_working_across_the_index_wrap), DataRingsCrossTheWrap,
        [AvailWrap, UsedWrap], [Plane.Data], 3, splitOnly: SplitIndices);

    /// <remarks>Over vhost-user the controlq is the suite's own front-end: the plane says the verdict is about that, not the back-end.</remarks>
    public static readonly SuiteCheck Controlq = new(nameof(The_controlq_keeps_working_across_the_index_wrap), ControlqCrossesTheWrap,
        [AvailWrap, UsedWrap, PairsSetRule], [Plane.Control], 2, splitOnly: SplitIndices);

    // Declared before the checks that read it: a static read before its initialiser runs is null.
    private const string SplitIndices = "it judges the split ring's 16-bit avail and used idx fields at their wrap from 65535 to 0, which a packed ring " +
        "does not have; a packed ring flips its wrap counters every Size descriptors, which every check that sends more than a ring's worth crosses";

    [Test, Check]
    public void Receive_and_transmit_rings_keep_working_across_the_index_wrap() => Suite.Verify(DataRings);

    [Test, Check]
    public void The_controlq_keeps_working_across_the_index_wrap() => Suite.Verify(Controlq);
}
