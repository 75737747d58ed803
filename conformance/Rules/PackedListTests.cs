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
/// buffer nobody made available. Small rings make lists cross the ring's end and the wrap counters flip mid-list. Several
/// lists made available per kick are used in one go, so each used descriptor must skip the lists before it (a device that
/// puts the k-th at the batch's first slot + k, as QEMU did before 2d9a31b3c273, writes it inside a list).
/// </summary>
[TestFixture, Category("Ring")]
public sealed class PackedListTests
{
    /// <param name="RingSize">Descriptors in each ring: small, so lists cross the end; not always a power of two (§2.8.10.1).</param>
    /// <param name="TxParts">Readable descriptors each transmitted packet is cut into.</param>
    /// <param name="RxParts">Writable descriptors of each receive buffer.</param>
    /// <param name="Frames">Frames looped back in all.</param>
    /// <param name="PerKick">Frames made available (receive buffers, then packets) before each kick.</param>
    /// <param name="RoomyReceive">
    /// Receive buffers of a full frame's size, so each of their descriptors alone holds a packet: a device that reads a
    /// list's descriptors as separate buffers (DPDK's receive batch path does) puts a packet in every one.
    /// </param>
    public sealed record ListCase(int RingSize, int TxParts, int RxParts, int Frames, int Flow, int PerKick = 1, bool RoomyReceive = false)
    {
        public override string ToString() =>
            $"rings of {RingSize}, each packet in {TxParts} readable descriptor(s), each {(RoomyReceive ? "full-size " : "")}receive buffer in {RxParts} " +
            $"writable one(s), {Frames} frame(s), {PerKick} per kick";
    }

    public static Arbitrary<ListCase> Cases { get; } = Arb.From(
        from size in Gen.Elements(5, 6, 8, 11, 16)
        from tx in Gen.Choose(1, 4)
        from rx in Gen.Choose(1, 4)
        from frames in Gen.Choose(1, 12)
        from flow in Gen.Choose(0, 999)
        where tx <= size && rx <= size
        // As many as both rings hold at once, up to 3.
        from perKick in Gen.Choose(1, Math.Clamp(size / Math.Max(tx, rx), 1, 3))
        from roomy in Gen.Elements(false, true)
        select new ListCase(size, tx, rx, frames, flow, perKick, roomy), Shrink);

    private static IEnumerable<ListCase> Shrink(ListCase c)
    {
        if (c.Frames > 1) yield return c with { Frames = 1 };
        if (c.Frames > 2) yield return c with { Frames = c.Frames / 2 };
        if (c.PerKick > 1) yield return c with { PerKick = 1 };
        if (c.PerKick > 2) yield return c with { PerKick = 2 };
        if (c.TxParts > 1) yield return c with { TxParts = c.TxParts - 1 };
        if (c.RxParts > 1) yield return c with { RxParts = c.RxParts - 1 };
        if (c.RoomyReceive) yield return c with { RoomyReceive = false };
    }

    /// <summary>
    /// Receive lists of two or three descriptors, each big enough for a packet on its own, four to six made available per
    /// kick from the ring's start: a device that looks at a list's descriptors one at a time (DPDK's receive batch path takes
    /// four at once without reading NEXT) returns each as a buffer, and the first comes back with an ID no buffer has. Four
    /// lists at least per kick, and no more than the ring holds.
    /// </summary>
    public static Arbitrary<ListCase> RoomyCases { get; } = Arb.From(
        from size in Gen.Elements(8, 16)
        from rx in Gen.Choose(2, size == 8 ? 2 : 3)
        from perKick in Gen.Choose(4, Math.Min(6, size / rx))
        from kicks in Gen.Choose(1, 2)
        from flow in Gen.Choose(0, 999)
        select new ListCase(size, 1, rx, perKick * kicks, flow, perKick, RoomyReceive: true), Shrink);

    public static Property ListsComeBackWithTheirLastDescriptorsId(SuiteContext ctx) => Lists(ctx, usedFields: false);

    public static Property ReceiveListsStayWhole(SuiteContext ctx) => Lists(ctx, usedFields: false, RoomyCases);

    /// <summary>
    /// The used descriptor's own fields (§2.8.3, §2.8.4): WRITE set when the device wrote into the buffer, and the length
    /// of what it wrote. Judged apart from the Buffer ID, with the ID in every descriptor as Linux writes it, so a device
    /// that reads the ID from the wrong descriptor still shows what its used descriptors carry.
    /// </summary>
    public static Property UsedDescriptorsSayWhatWasWritten(SuiteContext ctx) => Lists(ctx, usedFields: true);

    private static Property Lists(SuiteContext ctx, bool usedFields, Arbitrary<ListCase>? cases = null) =>
        Prop.ForAll(cases ?? Cases, c =>
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
            var rxLengths = Segments.Lengths(c.RoomyReceive ? d.Options.ReceiveBufferBytes : packetBytes, c.RxParts);
            for (var first = 0; first < c.Frames; first += c.PerKick)
            {
                var group = Enumerable.Range(first, Math.Min(c.PerKick, c.Frames - first)).ToList();
                var frames = group.ToDictionary(i => i, i => TestFrames.Udp(c.Flow, 0x9AC_0000UL + (ulong)i));
                var got = new Dictionary<int, ReceivedFrame?>();
                try
                {
                    foreach (var _ in group) rx.Add([], rxLengths, tag: "rx");
                    d.PublishAndKick(rx);
                    foreach (var i in group)
                    {
                        tx.Add(Segments.Cut([.. new byte[d.HeaderSize], .. frames[i]], c.TxParts), [], tag: "tx");
                    }
                    d.PublishAndKick(tx);
                    foreach (var i in group) got[i] = d.WaitForFrame(0x9AC_0000UL + (ulong)i, d.ResponseWait);
                    if (!d.TryWaitUntil(() => { while (tx.TakeUsed() is not null) { } return tx.Outstanding == 0; }, d.ResponseWait))
                    {
                        // A used descriptor past where the driver looks was written inside a list or past it: the lists
                        // before it were not skipped whole.
                        if (tx.UsedOutOfStep() is { } stray)
                            throw Expect.Violated(Rule.RingPackedDevChainOneUsed,
                                $"{c}: of the {group.Count} list(s) of frames {first + 1}..{first + group.Count} on transmitq1, {tx.Outstanding} never came back where the driver looks: {stray}");
                        throw Expect.Violated(Rule.RingPackedDefBufferId,
                            $"{c}: of the {group.Count} list(s) of frames {first + 1}..{first + group.Count} on transmitq1, {tx.Outstanding} never came back as a used descriptor");
                    }
                }
                catch (DeviceProtocolException e) when (e.Breach == Breach.UsedIdNotHeld)
                {
                    throw Expect.Violated(Rule.RingPackedDefNextFlag,
                        $"{c}, frames {first + 1}..{first + group.Count}: {e.Message}. The driver wrote each Buffer ID in its list's last descriptor only, and " +
                        $"0x{PackedDriverVirtqueue.NotABufferId:x4} in the others: the device took the ID from another descriptor of the list");
                }
                foreach (var i in group)
                {
                    if (got[i] is not { } frame)
                        throw Probes.Lost(d, 1, Rule.RingPackedDevChainOneUsed, $"{c}: frame {i + 1} never came back on receiveq1");
                    if (usedFields)
                    {
                        // §2.8.4: without WRITE the used length is reserved, so a driver may not even read it.
                        var written = (frame.UsedFlags ?? 0) & PackedRing.DescFWrite;
                        Expect.That(written != 0, Rule.RingPackedDevUsedWriteFlag,
                            $"{c}, frame {i + 1}: the used descriptor of a receive buffer the device wrote {frame.UsedLength} bytes into has flags 0x{frame.UsedFlags:x4}, " +
                            "without VIRTQ_DESC_F_WRITE, which says whether the device wrote into the buffer (§2.8.3)");
                    }
                    Expect.Holds(FrameJudgement.Judge(frame.Contents, frame.UsedLength, frames[i], frame.Pair, d.HeaderSize));
                }
            }
        });


    public static readonly SuiteCheck LastDescriptorsId = new(nameof(Used_descriptors_carry_the_Buffer_ID_of_their_lists_last_descriptor),
        ListsComeBackWithTheirLastDescriptorsId,
        [Rule.RingPackedDefNextFlag, Rule.RingPackedDefBufferId, Rule.RingPackedDevChainOneUsed, Rule.RingPackedDevGroupSkip,
            Rule.RingPackedDefWrapCounters],
        [Plane.Data], 40, packedOnly: true);

    public static readonly SuiteCheck UsedFields = new(nameof(Used_descriptors_say_whether_and_how_much_the_device_wrote),
        UsedDescriptorsSayWhatWasWritten,
        [Rule.RingPackedDevUsedWriteFlag, Rule.RingPackedDevUsedLen, Rule.RingPackedDevChainOneUsed],
        [Plane.Data], 20, packedOnly: true);

    public static readonly SuiteCheck WholeReceiveLists = new(nameof(Receive_lists_stay_one_buffer_when_each_descriptor_could_hold_a_packet),
        ReceiveListsStayWhole,
        [Rule.RingPackedDefNextFlag, Rule.RingPackedDefBufferId, Rule.RingPackedDevChainOneUsed],
        [Plane.Data], 10, packedOnly: true);

    [Test, Check]
    public void Used_descriptors_carry_the_Buffer_ID_of_their_lists_last_descriptor() => Suite.Verify(LastDescriptorsId);

    [Test, Check]
    public void Receive_lists_stay_one_buffer_when_each_descriptor_could_hold_a_packet() => Suite.Verify(WholeReceiveLists);

    [Test, Check]
    public void Used_descriptors_say_whether_and_how_much_the_device_wrote() => Suite.Verify(UsedFields);
}
