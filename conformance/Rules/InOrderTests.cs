using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// VIRTIO_F_IN_ORDER (§2.7.9, §2.8.8, §6.2): a device that offers it uses buffers in the order they were made available,
/// and may say so for a whole batch with one used entry, which carries the last buffer's id, sits where the batch's first
/// buffer was made available, and moves the used side past the whole batch; the buffers it skips count as wholly used.
/// The driver accepts IN_ORDER here alone, so the other checks leave the device free to use buffers in any order. It
/// lays descriptors out in ring order (§2.7.5.2) and unpacks every batch, and it catches a buffer returned before an
/// earlier one, a used entry where a batch is skipped, and a used side moved past buffers never returned. Frames loop
/// back through small rings in kicks of several, each packet and receive buffer cut into descriptors; receive buffers of
/// exactly a packet's size let the device batch them too, since it fills them whole.
/// </summary>
[TestFixture, Category("Ring")]
public sealed class InOrderTests
{
    /// <param name="RingSize">Entries in each ring: small, so the rings wrap many times.</param>
    /// <param name="TxParts">Readable descriptors each transmitted packet is cut into.</param>
    /// <param name="RxParts">Writable descriptors of each receive buffer.</param>
    /// <param name="Kicks">How many frames each kick makes available, receive buffers first, then packets.</param>
    /// <param name="ExactReceive">Receive buffers of exactly a packet's size, which the device fills whole and so may batch.</param>
    /// <param name="Indirect">Each buffer's descriptors in an indirect table, when the device offers them.</param>
    public sealed record InOrderCase(int RingSize, int TxParts, int RxParts, int[] Kicks, bool ExactReceive, bool Indirect, int Flow)
    {
        public override string ToString() =>
            $"rings of {RingSize}, packets in {TxParts} readable descriptor(s), receive buffers in {RxParts} writable one(s)" +
            $"{(ExactReceive ? " of exactly a packet's size" : "")}{(Indirect ? ", in indirect tables" : "")}, kicks of [{string.Join(", ", Kicks)}] frame(s)";
    }

    // One packet more than a kick must always fit the ring: it is how a silent device is asked where its next used entry goes.
    public static Arbitrary<InOrderCase> Cases { get; } = Arb.From(
        from size in Gen.Elements(4, 8, 16)
        from tx in Gen.Choose(1, 3)
        from rx in Gen.Choose(1, 2)
        let most = Math.Max(1, Math.Min(6, size / Math.Max(tx, rx) - 1))
        from count in Gen.Choose(1, 5)
        from kicks in Gen.Choose(1, most).ArrayOf(count)
        from exact in Gen.Elements(true, false)
        from indirect in Gen.Elements(false, false, true)
        from flow in Gen.Choose(0, 999)
        select new InOrderCase(size, tx, rx, kicks, exact, indirect, flow), Shrink);

    private static IEnumerable<InOrderCase> Shrink(InOrderCase c)
    {
        if (c.Kicks.Length > 1) yield return c with { Kicks = c.Kicks[..1] };
        if (c.Kicks.Length > 1) yield return c with { Kicks = c.Kicks[..^1] };
        for (var i = 0; i < c.Kicks.Length; i++)
            if (c.Kicks[i] > 1) yield return c with { Kicks = [.. c.Kicks[..i], c.Kicks[i] - 1, .. c.Kicks[(i + 1)..]] };
        if (c.Indirect) yield return c with { Indirect = false };
        if (c.TxParts > 1) yield return c with { TxParts = c.TxParts - 1 };
        if (c.RxParts > 1) yield return c with { RxParts = c.RxParts - 1 };
    }

    public static Property BuffersComeBackInOrder(SuiteContext ctx) =>
        Prop.ForAll(Cases, c =>
        {
            using var s = ctx.Open();
            var d = new NetDriver(s.Device, ctx.DriverOptions with
            {
                InOrder = true,
                ReceiveBuffersPerQueue = 0,
                QueueSize = c.RingSize,
                SmallQueueSize = c.RingSize,
            });
            d.BeginNegotiation();
            if (!d.Offered.Has(FeatureBit.InOrder)) { ThisCase.NotApplicable("the device does not offer VIRTIO_F_IN_ORDER"); return; }
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            if (d.Queue(NetQueueLayout.Transmitq(1)).Size < c.RingSize) { ThisCase.NotApplicable($"the device's rings hold fewer than {c.RingSize} entries"); return; }
            var indirect = c.Indirect && d.Negotiated.Has(FeatureBit.IndirectDesc);
            var rx = d.Queue(NetQueueLayout.Receiveq(1));
            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            var packetBytes = d.HeaderSize + TestFrames.Length;
            var rxLengths = Segments.Lengths(c.ExactReceive ? packetBytes : d.Options.ReceiveBufferBytes, c.RxParts);
            var sent = 0;
            foreach (var (kick, n) in c.Kicks.Select((n, k) => (k + 1, n)))
            {
                var group = Enumerable.Range(sent, n).ToList();
                sent += n;
                var frames = group.ToDictionary(i => i, i => TestFrames.Udp(c.Flow, 0x10D_0000UL + (ulong)i));
                foreach (var _ in group) rx.Add([], rxLengths, tag: "rx", indirect: indirect);
                d.PublishAndKick(rx);
                foreach (var i in group)
                {
                    tx.Add(Segments.Cut([.. new byte[d.HeaderSize], .. frames[i]], c.TxParts), [], tag: "tx", indirect: indirect);
                }
                d.PublishAndKick(tx);
                var where = $"{c}, kick {kick} (frames {group[0] + 1}..{group[^1] + 1})";
                var got = group.ToDictionary(i => i, i => d.WaitForFrame(0x10D_0000UL + (ulong)i, d.ResponseWait));
                if (!d.TryWaitUntil(() => { while (tx.TakeUsed() is not null) { } return tx.Outstanding == 0; }, d.ResponseWait))
                    throw Unreturned(d, tx, where, packetBytes);
                foreach (var i in group)
                {
                    if (got[i] is null && rx.UsedOutOfStep() is { } stray)
                        throw Expect.Violated(Rule.RingInorderDefBatch, $"{where}: frame {i + 1} never came back where the driver looks on receiveq1: {stray}");
                    if (got[i] is not { } frame)
                        throw Probes.Lost(d, 1, Rule.RingUsedDefReturnsBuffers, $"{where}: frame {i + 1} never came back on receiveq1");
                    var wrong = FrameJudgement.Judge(frame.Contents, frame.UsedLength, frames[i], frame.Pair, d.HeaderSize);
                    // A buffer a batch covers counts as wholly written. The driver zeroed it when it posted it, so bytes past the
                    // packet still all zero were never written: the device batched a buffer the packet did not fill.
                    if (frame.InOrderSkipped && (wrong is not null || Unwritten(frame.Contents, packetBytes)))
                        throw Expect.Violated(Rule.RingInorderDefSkippedUsed,
                            $"{where}: frame {i + 1} came back in a {frame.Contents.Length}-byte receive buffer that an in-order batch covered without a used " +
                            $"entry of its own, so the driver takes all of it as written, but the device wrote only the {packetBytes}-byte packet" +
                            (wrong is null ? " (the rest is as the driver zeroed it)" : $": {wrong.Message}"));
                    Expect.Holds(wrong);
                }
            }
        });

    /// <summary>
    /// Transmit buffers that never came back. A device that put a batch's used entry where the driver does not look is asked
    /// once more: where the used entry of one more packet lands tells a misplaced batch from buffers kept.
    /// </summary>
    private static ConformanceViolationException Unreturned(NetDriver d, DriverVirtqueue tx, string where, int packetBytes)
    {
        var kept = tx.Outstanding;
        if (tx.UsedOutOfStep() is null && tx.Add([new byte[packetBytes]], [], tag: "tx") is not null)
        {
            d.PublishAndKick(tx);
            d.TryWaitUntil(() => tx.UsedOutOfStep() is not null, d.ResponseWait);
        }
        return tx.UsedOutOfStep() is { } stray
            ? Expect.Violated(Rule.RingInorderDefBatch, $"{where}: {kept} transmit buffer(s) never came back where the driver looks: {stray}")
            : Expect.Violated(Rule.RingUsedDefReturnsBuffers, $"{where}: {kept} transmit buffer(s) on transmitq1 never came back used");
    }

    private static bool Unwritten(byte[] contents, int written) => contents.Length > written && contents.AsSpan(written).IndexOfAnyExcept((byte)0) < 0;


    public static readonly SuiteCheck InOrder = new(nameof(In_order_buffers_come_back_in_the_order_made_available),
        BuffersComeBackInOrder,
        [Rule.RingInorderDev, Rule.CoreRsvdDevInOrder, Rule.RingInorderDefBatch, Rule.RingInorderDefSkippedUsed, Rule.RingUsedDefReturnsBuffers],
        [Plane.Data], 30);

    [Test, Check]
    public void In_order_buffers_come_back_in_the_order_made_available() => Suite.Verify(InOrder);
}
