using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Lists of descriptors on a packed ring (§2.8.6): a list is consecutive descriptors linked by NEXT, its Buffer ID is in
/// its last descriptor, and the device returns it with one used descriptor carrying that ID, then skips the list's other
/// slots. The suite's driver writes the ID in the last descriptor only, and an ID no buffer has in the others, so a device
/// that reads it from the first descriptor (as Linux's driver would never show: it writes the ID everywhere) returns a
/// buffer nobody made available. Small rings make lists cross the ring's end and the wrap counters flip mid-list.
/// </summary>
[TestFixture, Category("Ring")]
public sealed class PackedListTests
{
    /// <param name="RingSize">Descriptors in each ring: small, so lists cross the end; not always a power of two (§2.8.10.1).</param>
    /// <param name="TxParts">Readable descriptors each transmitted packet is cut into.</param>
    /// <param name="RxParts">Writable descriptors of each receive buffer.</param>
    /// <param name="Frames">Frames looped back one after the other.</param>
    public sealed record ListCase(int RingSize, int TxParts, int RxParts, int Frames, int Flow)
    {
        public override string ToString() =>
            $"rings of {RingSize}, each packet in {TxParts} readable descriptor(s), each receive buffer in {RxParts} writable one(s), {Frames} frame(s)";
    }

    public static Arbitrary<ListCase> Cases { get; } = Arb.From(
        from size in Gen.Elements(5, 6, 8, 11, 16)
        from tx in Gen.Choose(1, 4)
        from rx in Gen.Choose(1, 4)
        from frames in Gen.Choose(1, 12)
        from flow in Gen.Choose(0, 999)
        where tx <= size && rx <= size
        select new ListCase(size, tx, rx, frames, flow), Shrink);

    private static IEnumerable<ListCase> Shrink(ListCase c)
    {
        if (c.Frames > 1) yield return c with { Frames = 1 };
        if (c.Frames > 2) yield return c with { Frames = c.Frames / 2 };
        if (c.TxParts > 1) yield return c with { TxParts = c.TxParts - 1 };
        if (c.RxParts > 1) yield return c with { RxParts = c.RxParts - 1 };
    }

    public static Property ListsComeBackWithTheirLastDescriptorsId(SuiteContext ctx) => Lists(ctx, usedFields: false);

    /// <summary>
    /// The used descriptor's own fields (§2.8.3, §2.8.4): WRITE set when the device wrote into the buffer, and the length
    /// of what it wrote. Judged apart from the Buffer ID, with the ID in every descriptor as Linux writes it, so a device
    /// that reads the ID from the wrong descriptor still shows what its used descriptors carry.
    /// </summary>
    public static Property UsedDescriptorsSayWhatWasWritten(SuiteContext ctx) => Lists(ctx, usedFields: true);

    private static Property Lists(SuiteContext ctx, bool usedFields) =>
        Prop.ForAll(Cases, c =>
        {
            using var s = ctx.Open();
            var d = new NetDriver(s.Device, ctx.DriverOptions with
            {
                ReceiveBuffersPerQueue = 0,
                PackedBufferIdInLastOnly = !usedFields,
                QueueSize = c.RingSize,
                SmallQueueSize = c.RingSize,
            });
            d.BeginNegotiation();
            if (ctx.Format != RingFormat.Packed) { ThisCase.NotApplicable("a packed-ring check, run with split rings"); return; }
            if (!d.Offered.Has(FeatureBit.RingPacked)) { ThisCase.NotApplicable("the device does not offer VIRTIO_F_RING_PACKED"); return; }
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            if (d.Queue(NetQueueLayout.Transmitq(1)).Size < c.RingSize) { ThisCase.NotApplicable($"the device's rings hold fewer than {c.RingSize} descriptors"); return; }
            var rx = d.Queue(NetQueueLayout.Receiveq(1));
            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            var packetBytes = d.HeaderSize + TestFrames.Length;
            var rxLengths = Parts(packetBytes, c.RxParts);
            for (var i = 0; i < c.Frames; i++)
            {
                var tag = 0x9AC_0000UL + (ulong)i;
                var frame = TestFrames.Udp(c.Flow, tag);
                byte[] packet = [.. new byte[d.HeaderSize], .. frame];
                var at = 0;
                var pieces = Parts(packetBytes, c.TxParts).Select(n => packet[at..(at += n)]).ToList();
                ReceivedFrame? got;
                try
                {
                    rx.Add([], rxLengths, tag: "rx");
                    d.PublishAndKick(rx);
                    tx.Add(pieces, [], tag: "tx");
                    d.PublishAndKick(tx);
                    got = d.WaitForFrame(tag, d.ResponseWait);
                    if (!d.TryWaitUntil(() => { while (tx.TakeUsed() is not null) { } return tx.Outstanding == 0; }, d.ResponseWait))
                        throw Expect.Violated(Rule.RingPackedDefBufferId,
                            $"{c}: the list of frame {i + 1} on transmitq1 never came back as a used descriptor ({tx.Outstanding} list(s) still with the device)");
                }
                catch (DeviceProtocolException e) when (e.Breach == Breach.UsedIdNotHeld)
                {
                    throw Expect.Violated(Rule.RingPackedDefNextFlag,
                        $"{c}, frame {i + 1}: {e.Message}. The driver wrote each Buffer ID in its list's last descriptor only, and " +
                        $"0x{PackedDriverVirtqueue.NotABufferId:x4} in the others: the device took the ID from another descriptor of the list");
                }
                if (got is null)
                    throw Probes.Lost(d, 1, Rule.RingPackedDevChainOneUsed, $"{c}: frame {i + 1} never came back on receiveq1");
                if (usedFields)
                {
                    // §2.8.4: without WRITE the used length is reserved, so a driver may not even read it.
                    var written = (got.UsedFlags ?? 0) & PackedRing.DescFWrite;
                    Expect.That(written != 0, Rule.RingPackedDevUsedWriteFlag,
                        $"{c}, frame {i + 1}: the used descriptor of a receive buffer the device wrote {got.UsedLength} bytes into has flags 0x{got.UsedFlags:x4}, " +
                        "without VIRTQ_DESC_F_WRITE, which says whether the device wrote into the buffer (§2.8.3)");
                }
                Expect.Holds(FrameJudgement.Judge(got.Contents, got.UsedLength, frame, got.Pair, d.HeaderSize));
            }
        });

    /// <summary><paramref name="total"/> bytes cut into <paramref name="parts"/> pieces, the last taking the rest.</summary>
    private static int[] Parts(int total, int parts)
    {
        var each = total / parts;
        return [.. Enumerable.Repeat(each, parts - 1), total - each * (parts - 1)];
    }

    public static readonly SuiteCheck LastDescriptorsId = new(nameof(Used_descriptors_carry_the_Buffer_ID_of_their_lists_last_descriptor),
        ListsComeBackWithTheirLastDescriptorsId,
        [Rule.RingPackedDefNextFlag, Rule.RingPackedDefBufferId, Rule.RingPackedDevChainOneUsed, Rule.RingPackedDevGroupSkip,
            Rule.RingPackedDefWrapCounters],
        [Plane.Data], 40, packedOnly: true);

    public static readonly SuiteCheck UsedFields = new(nameof(Used_descriptors_say_whether_and_how_much_the_device_wrote),
        UsedDescriptorsSayWhatWasWritten,
        [Rule.RingPackedDevUsedWriteFlag, Rule.RingPackedDevUsedLen, Rule.RingPackedDevChainOneUsed],
        [Plane.Data], 20, packedOnly: true);

    [Test, Check]
    public void Used_descriptors_carry_the_Buffer_ID_of_their_lists_last_descriptor() => Suite.Verify(LastDescriptorsId);

    [Test, Check]
    public void Used_descriptors_say_whether_and_how_much_the_device_wrote() => Suite.Verify(UsedFields);
}
