using FsCheck;
using FsCheck.Fluent;
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
[TestFixture, Category("Ring"), Plane(Plane.Data)]
public sealed class TransmitCompletionTests
{
    private const string Rule = "ring.used.def.returns-buffers";

    /// <param name="Pairs">virtqueue_pairs set before sending (capped at what the device offers).</param>
    /// <param name="Pair">The transmitq the frames go on.</param>
    /// <param name="Frames">Frames sent in all; above the ring size the driver must reuse returned descriptors.</param>
    /// <param name="Batch">Buffers made available per kick.</param>
    public sealed record CompletionCase(int Pairs, int Pair, int Frames, int Batch)
    {
        public override string ToString() => $"VQ_PAIRS_SET({Pairs}), {Frames} frame(s) on transmitq{Pair}, {Batch} per kick";
    }

    private static Gen<CompletionCase> Cases =>
        from pairs in Gen.Choose(1, 4)
        from pair in Gen.Choose(1, pairs)
        from frames in Gen.Frequency((1, Gen.Choose(1, 8)), (3, Gen.Choose(9, 200)))
        from batch in Gen.Elements(1, 1, 2, 7, 32, 64)
        select new CompletionCase(pairs, pair, frames, batch);

    private static IEnumerable<CompletionCase> Shrink(CompletionCase c)
    {
        if (c.Frames > 1) yield return c with { Frames = 1 };
        if (c.Frames > 2) yield return c with { Frames = c.Frames / 2 };
        if (c.Frames > 1) yield return c with { Frames = c.Frames - 1 };
        if (c.Batch > 1) yield return c with { Batch = 1 };
        if (c.Pairs > c.Pair) yield return c with { Pairs = c.Pair };
        if (c.Pair > 1) yield return c with { Pairs = c.Pairs - 1, Pair = c.Pair - 1 };
    }

    public static Property EveryTransmitBufferIsReturned(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Cases, Shrink), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            var pairs = Math.Min(c.Pairs, features.Has(FeatureBit.NetMq) ? Math.Min(d.MaxPairs, Generators.TrafficPairs) : 1);
            if (c.Pair > pairs) { ThisCase.NotApplicable($"the device has fewer than {c.Pair} pairs to send on"); return; }
            Probes.Initialize(d, features, pairs);
            var model = PairsRangeTests.Model(d);
            if (model.MultiqueueNegotiated && pairs > 1) Probes.PairsSet(d, model, pairs, "net.mq.def.vq-pairs-set");

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
                        throw Expect.Violated(Rule, $"the ring is full and no buffer came back within {d.ResponseWait.TotalMilliseconds} ms; {Held()}");
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
            Expect.That(allBack, Rule, $"all {c.Frames} frames were made available and {d.ResponseWait.TotalMilliseconds} ms later {Held()}");
        });

    [Test, Requirement(Rule)]
    public void Every_transmit_buffer_comes_back_used() =>
        Suite.Verify(EveryTransmitBufferIsReturned(SuiteContext.Current), cases: 40);
}
