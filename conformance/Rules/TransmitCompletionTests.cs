using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Every buffer a driver puts on a transmitq comes back through the used ring (§2.7.8: the used ring is where
/// the device returns buffers it is done with). A driver gets its transmit descriptors back no other way, so a
/// device that keeps some, or publishes them in batches it never completes, leaves the driver without
/// descriptors after at most a ring's worth of frames, whatever became of the frames themselves. Cases send
/// more frames than the ring holds and make them available one at a time or in batches per kick.
/// </summary>
[TestFixture, Category("Ring")]
public sealed class TransmitCompletionTests
{

    /// <param name="Pairs">virtqueue_pairs set before sending (capped at what the device offers).</param>
    /// <param name="Pair">The transmitq the frames go on.</param>
    /// <param name="Frames">Frames sent in all; above the ring size the driver must reuse returned descriptors.</param>
    /// <param name="Batch">Buffers made available per kick.</param>
    public sealed record CompletionCase(int Pairs, int Pair, int Frames, int Batch)
    {
        public override string ToString() => $"VQ_PAIRS_SET({Pairs}), {Frames} frame(s) on transmitq{Pair}, {Batch} per kick";
    }

    /// <summary>
    /// Buffers per kick: one at a time, a few, a prime that straddles a device's bursts, a DPDK burst, two of them. Every
    /// one of them in every case, each with its own pairs and frame count.
    /// </summary>
    public static readonly int[] Batches = [1, 2, 7, 32, 64];

    public static Arbitrary<EveryVariant<CompletionCase>> Cases { get; } = Variants.Each(Batches, batch =>
        from pairs in Gen.Choose(1, 4)
        from pair in Gen.Choose(1, pairs)
        from frames in Gen.Frequency((1, Gen.Choose(1, 8)), (3, Gen.Choose(9, 200)))
        select new CompletionCase(pairs, pair, frames, batch), Shrink);

    /// <summary>The sub-cases the check used to spend on 40 cases of one batch size each.</summary>
    public static int CaseCount { get; } = Variants.CasesFor(40, Batches.Length);

    private static IEnumerable<CompletionCase> Shrink(CompletionCase c)
    {
        if (c.Frames > 1) yield return c with { Frames = 1 };
        if (c.Frames > 2) yield return c with { Frames = c.Frames / 2 };
        if (c.Frames > 1) yield return c with { Frames = c.Frames - 1 };
        if (c.Pairs > c.Pair) yield return c with { Pairs = c.Pair };
        if (c.Pair > 1) yield return c with { Pairs = c.Pairs - 1, Pair = c.Pair - 1 };
    }

    public static Property EveryTransmitBufferIsReturned(SuiteContext ctx) =>
        Variants.ForEach(Cases, c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            var pairs = Math.Min(c.Pairs, features.Has(FeatureBit.NetMq) ? Math.Min(d.MaxPairs, Generators.TrafficPairs) : 1);
            if (c.Pair > pairs) { ThisCase.NotApplicable($"the device has fewer than {c.Pair} pairs to send on"); return; }
            Probes.Initialize(d, features, pairs);
            var model = PairsRangeTests.Model(d);
            if (model.MultiqueueNegotiated && pairs > 1) Probes.PairsSet(d, model, pairs, Rule.NetMqDefVqPairsSet);

            var tx = d.Queue(NetQueueLayout.Transmitq(c.Pair));
            var returned = 0;
            void Reap()
            {
                while (tx.TakeUsed() is not null) returned++;
            }
            string Held() => $"{c}: after {returned} of the frames made available so far came back used, the device holds " +
                $"{tx.Outstanding} transmit buffer(s) of a {tx.Size}-entry ring (used idx {tx.DeviceUsedIdx}, avail idx {tx.PublishedIdx})";

            var sent = 0;
            while (sent < c.Frames)
            {
                var batch = Math.Min(c.Batch, c.Frames - sent);
                for (var i = 0; i < batch; i++)
                {
                    Reap();
                    if (tx.FreeDescriptors == 0 && !d.TryWaitUntil(() => { Reap(); return tx.FreeDescriptors > 0; }, d.ResponseWait))
                        throw Expect.Violated(Rule.RingUsedDefReturnsBuffers, $"the ring is full and no buffer came back within {d.ResponseWait.TotalMilliseconds} ms; {Held()}");
                    tx.Add([[.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(sent % 16, 0xC0_0000 + (ulong)sent)]], [], tag: "tx");
                    sent++;
                    if (tx.FreeDescriptors == 0) break; // a full ring goes to the device before waiting for room
                }
                d.PublishAndKick(tx);
                // The looped-back frames are not this property's business; drop them so the receiveqs keep room.
                d.ClearReceived();
            }
            // In-process the device answers within the kick (ResponseWait is zero); over a socket it gets the timeout.
            var allBack = d.TryWaitUntil(() => { Reap(); return tx.Outstanding == 0; }, d.ResponseWait);
            Expect.That(allBack, Rule.RingUsedDefReturnsBuffers, $"all {c.Frames} frames were made available and {d.ResponseWait.TotalMilliseconds} ms later {Held()}");
        });

    /// <summary>How frames came to be on the transmitq of a pair that is not in use when the device sees them.</summary>
    public enum DisabledWindow
    {
        /// <summary>Made available while the pair was in use, kicked once VQ_PAIRS_SET had taken it out of use: the driver did nothing wrong.</summary>
        QueuedBeforeVqPairsSet,
        /// <summary>Sent after VQ_PAIRS_SET(n) on transmitq k above n, which the driver must not do (net.mq.drv.tx-limit-after-set).</summary>
        SentAfterVqPairsSet,
        /// <summary>
        /// Sent after a reset and a fresh initialization, before any VQ_PAIRS_SET, on transmitq k above 1: what Linux does
        /// between DRIVER_OK and its VQ_PAIRS_SET when it restores a device (the driver breaks net.mq.drv.tx-q1-before-set).
        /// </summary>
        RestoreWindow,
    }

    /// <param name="Pairs">virtqueue_pairs in force when the device meets the frames (1 in the restore window).</param>
    /// <param name="Pair">The transmitq the frames go on, above <paramref name="Pairs"/>; in use before.</param>
    public sealed record DisabledCase(DisabledWindow Window, int Pairs, int Pair, int Frames)
    {
        public override string ToString() => Window switch
        {
            DisabledWindow.QueuedBeforeVqPairsSet => $"VQ_PAIRS_SET({Pair}), {Frames} frame(s) made available on transmitq{Pair}, VQ_PAIRS_SET({Pairs}), then the kick",
            DisabledWindow.SentAfterVqPairsSet => $"VQ_PAIRS_SET({Pair}), VQ_PAIRS_SET({Pairs}), then {Frames} frame(s) on transmitq{Pair}",
            _ => $"VQ_PAIRS_SET({Pair}), a reset and a fresh initialization (the restore window), then {Frames} frame(s) on transmitq{Pair} before any VQ_PAIRS_SET",
        };
    }

    /// <summary>Every window in every case, each with its own pair counts and frame count.</summary>
    public static Arbitrary<EveryVariant<DisabledCase>> DisabledCases { get; } = Variants.Each(Variants.Of<DisabledWindow>(), w =>
        from pairs in w == DisabledWindow.RestoreWindow ? Gen.Constant(1) : Gen.Choose(1, 3)
        from pair in Gen.Choose(pairs + 1, 4)
        from frames in Gen.Frequency((1, Gen.Choose(1, 4)), (3, Gen.Choose(5, 64)))
        select new DisabledCase(w, pairs, pair, frames), ShrinkDisabled);

    private static IEnumerable<DisabledCase> ShrinkDisabled(DisabledCase c)
    {
        if (c.Frames > 1) yield return c with { Frames = 1 };
        if (c.Frames > 2) yield return c with { Frames = c.Frames / 2 };
        if (c.Pair > c.Pairs + 1) yield return c with { Pair = c.Pairs + 1 };
        if (c.Pairs > 1) yield return c with { Pairs = c.Pairs - 1, Pair = c.Pair - 1 };
    }

    /// <summary>The sub-cases of one check of 40 cases.</summary>
    public static int DisabledCaseCount { get; } = Variants.CasesFor(40, Variants.Of<DisabledWindow>().Length);

    /// <summary>
    /// Which rule a buffer kept on a disabled pair breaks. Over vhost-user the back-end is told the ring is disabled
    /// and must drain it whatever the driver did (a MUST). Otherwise buffers queued while the pair was in use are
    /// owed back like any other (§2.7.8); for the ones the driver was forbidden to queue the spec gives the device no
    /// duty, so keeping them is a robustness finding, not a failure.
    /// </summary>
    public static string DisabledRule(DisabledWindow w, bool vhostUserBackEnd) =>
        vhostUserBackEnd ? Rule.VuRingDisabledTxDiscard
        : w == DisabledWindow.QueuedBeforeVqPairsSet ? Rule.RingUsedDefReturnsBuffers
        : Rule.RobustRingDisabledTxReturned;

    /// <summary>
    /// Transmit buffers on a pair not in use come back used within a bounded wait, with the device live: a device that
    /// keeps them leaks the driver's descriptors, and Linux's transmit queue stalls in the restore window.
    /// </summary>
    public static Property DisabledPairBuffersAreReturned(SuiteContext ctx) => Variants.ForEach(DisabledCases, c => JudgeDisabledPair(ctx, c));

    /// <summary>One sub-case of <see cref="DisabledPairBuffersAreReturned"/>: a fresh device, the window, the bounded wait.</summary>
    public static void JudgeDisabledPair(SuiteContext ctx, DisabledCase c)
    {
        using var s = ctx.Open();
        var d = s.Driver;
        d.BeginNegotiation();
        var features = PairsRangeTests.NetDriverDefaults(d.Offered);
        // Every pair's queues are set up, so the transmitq above the pairs in use is a live ring of the device.
        var queuePairs = features.Has(FeatureBit.NetMq) ? Math.Min(d.MaxPairs, Generators.TrafficPairs) : 1;
        if (c.Pair > queuePairs)
        {
            ThisCase.NotApplicable(features.Has(FeatureBit.NetMq) ? $"the device has fewer than {c.Pair} pairs" : "the device does not offer VIRTIO_NET_F_MQ: no pair is ever out of use");
            return;
        }
        Probes.Initialize(d, features, queuePairs);
        var model = Probes.PairsSet(d, PairsRangeTests.Model(d), c.Pair, Rule.NetMqDefVqPairsSet);
        var tx = d.Queue(NetQueueLayout.Transmitq(c.Pair));
        void Queue()
        {
            for (var i = 0; i < c.Frames; i++)
                if (tx.Add([[.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(i % 16, 0xD15_0000 + (ulong)i)]], [], tag: "tx") is null)
                    throw new InvalidOperationException($"transmitq{c.Pair} has no free descriptor for frame {i + 1} of {c.Frames}");
        }
        switch (c.Window)
        {
            case DisabledWindow.QueuedBeforeVqPairsSet:
                Queue();
                tx.Publish();
                Probes.PairsSet(d, model, c.Pairs, Rule.NetMqDefVqPairsSet);
                d.Device.Kick(tx.Index);
                break;
            case DisabledWindow.SentAfterVqPairsSet:
                Probes.PairsSet(d, model, c.Pairs, Rule.NetMqDefVqPairsSet);
                Queue();
                d.PublishAndKick(tx);
                break;
            default:
                Probes.Initialize(d, features, queuePairs);
                tx = d.Queue(NetQueueLayout.Transmitq(c.Pair));
                Queue();
                d.PublishAndKick(tx);
                break;
        }
        var returned = 0;
        // In-process the device answers within the kick (ResponseWait is zero); over a socket it gets the timeout.
        var allBack = d.TryWaitUntil(() =>
        {
            while (tx.TakeUsed() is not null) returned++;
            return tx.Outstanding == 0;
        }, d.ResponseWait);
        // The frames themselves are not this check's business (the steering checks judge where frames land).
        d.ClearReceived();
        Expect.That(allBack, DisabledRule(c.Window, s.Device.Capabilities.Has<IVhostUserBackEnd>()),
            $"{c}: {(d.ResponseWait == TimeSpan.Zero ? "once the kick was handled" : $"{d.ResponseWait.TotalMilliseconds} ms after the kick")}, {returned} of the {c.Frames} transmit buffer(s) came back used and the device " +
            $"holds {tx.Outstanding} (used idx {tx.DeviceUsedIdx}, avail idx {tx.PublishedIdx}) of transmitq{c.Pair}, above virtqueue_pairs={c.Pairs}");
    }

    public static readonly SuiteCheck EveryBufferBack = new(nameof(Every_transmit_buffer_comes_back_used), EveryTransmitBufferIsReturned,
        [Rule.RingUsedDefReturnsBuffers], [Plane.Data], CaseCount);

    public static readonly SuiteCheck DisabledPairBuffersBack = new(nameof(Transmit_buffers_on_a_pair_not_in_use_come_back_used), DisabledPairBuffersAreReturned,
        [Rule.RingUsedDefReturnsBuffers, Rule.RobustRingDisabledTxReturned, Rule.VuRingDisabledTxDiscard], [Plane.Data], DisabledCaseCount);

    [Test, Check]
    public void Every_transmit_buffer_comes_back_used() => Suite.Verify(EveryBufferBack);

    [Test, Check]
    public void Transmit_buffers_on_a_pair_not_in_use_come_back_used() => Suite.Verify(DisabledPairBuffersBack);
}
