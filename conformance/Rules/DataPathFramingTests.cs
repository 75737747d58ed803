using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// The data path in any descriptor layout (§2.7.4): a transmitted packet split over several readable
/// descriptors, or in an indirect table, and a receive buffer split over several writable ones, carry the
/// same frame as one descriptor would. The transmit header may carry flag bits the device does not know and
/// checksum fields without NEEDS_CSUM, which it must ignore (§5.1.9.2.2); the receive header it writes has
/// flags 0, GSO_NONE and num_buffers 1 when no offload and no MRG_RXBUF are negotiated (§5.1.9.4.1).
/// </summary>
[TestFixture, Category("Ring")]
public sealed class DataPathFramingTests
{
    private const int PacketBytes = SplitRing.NetHeaderSize + TestFrames.Length;

    /// <param name="TxCuts">Where the transmitted packet (header and frame) is cut into readable descriptors.</param>
    /// <param name="RxLengths">The writable descriptors of the receive buffer; together at least one packet.</param>
    /// <param name="TxFlags">Header flags the device does not know (bits above those 1.4 defines for transmit).</param>
    public sealed record FramingCase(int[] TxCuts, bool TxIndirect, int[] RxLengths, bool RxIndirect, byte TxFlags, ushort HdrLen, ushort CsumStart, ushort CsumOffset, int Flow)
    {
        public override string ToString() =>
            $"transmit cut at [{string.Join(",", TxCuts)}]{(TxIndirect ? " in an indirect table" : "")}, receive buffer of [{string.Join(",", RxLengths)}] bytes" +
            $"{(RxIndirect ? " in an indirect table" : "")}, tx header flags 0x{TxFlags:x2} hdr_len {HdrLen} csum_start {CsumStart} csum_offset {CsumOffset}, flow {Flow}";
    }

    private static Gen<int[]> Cuts =>
        Gen.ListOf(Gen.Choose(1, PacketBytes - 1)).Select(l => l.Distinct().Order().Take(6).ToArray());

    /// <summary>A receive buffer: the packet's bytes cut at random points, sometimes with spare room or spare descriptors after it.</summary>
    private static Gen<int[]> RxLengths =>
        from cuts in Cuts
        from spare in Gen.Elements(0, 0, 1, 30, 500)
        from spareDescriptors in Gen.Choose(0, 2)
        select Lengths(cuts, PacketBytes + spare).Concat(Enumerable.Repeat(64, spareDescriptors)).ToArray();

    private static int[] Lengths(int[] cuts, int total)
    {
        var points = cuts.Where(c => c < total).Append(total).ToArray();
        return [.. points.Select((p, i) => p - (i == 0 ? 0 : points[i - 1]))];
    }

    /// <summary>
    /// What the transmit header carries besides zeros: nothing, flag bits 1.4 does not define, or checksum fields without
    /// NEEDS_CSUM (always a non-zero csum_offset, so they are never all zero).
    /// </summary>
    public enum HeaderJunk { None, UnknownFlags, ChecksumFieldsWithoutNeedsCsum }

    /// <summary>Direct or indirect on each side, with each kind of header: twelve variants, all of them in every case.</summary>
    private static readonly (bool TxIndirect, bool RxIndirect, HeaderJunk Junk)[] Layouts =
    [
        .. from tx in new[] { false, true } from rx in new[] { false, true } from junk in Variants.Of<HeaderJunk>() select (tx, rx, junk),
    ];

    public static Arbitrary<EveryVariant<FramingCase>> Cases { get; } = Variants.Each(Layouts, v =>
        from txCuts in Cuts
        from rx in RxLengths
        from flags in v.Junk == HeaderJunk.UnknownFlags ? Gen.Elements<byte>(0x08, 0x40, 0x80, 0xF0) : Gen.Constant<byte>(0)
        from hdrLen in v.Junk == HeaderJunk.None ? Gen.Constant<ushort>(0) : Gen.Elements<ushort>(0, 14, 42, 0xFFFF)
        from csumStart in v.Junk == HeaderJunk.None ? Gen.Constant<ushort>(0) : Gen.Elements<ushort>(0, 34, 0xFFFF)
        from csumOffset in v.Junk == HeaderJunk.ChecksumFieldsWithoutNeedsCsum ? Gen.Elements<ushort>(6, 0xFFFF) : v.Junk == HeaderJunk.None ? Gen.Constant<ushort>(0) : Gen.Elements<ushort>(0, 6, 0xFFFF)
        from flow in Gen.Choose(0, 999)
        select new FramingCase(txCuts, v.TxIndirect, rx, v.RxIndirect, flags, hdrLen, csumStart, csumOffset, flow), Shrink);

    /// <summary>The sub-cases the check used to spend on 60 cases of one layout each.</summary>
    public static int CaseCount { get; } = Variants.CasesFor(60, Layouts.Length);

    /// <summary>Shrinks what is random around a variant (the cuts), never the variant itself, so the counterexample names it.</summary>
    private static IEnumerable<FramingCase> Shrink(FramingCase c)
    {
        foreach (var cuts in Generators.ShrinkList(c.TxCuts)) yield return c with { TxCuts = cuts };
        if (c.RxLengths.Length > 1) yield return c with { RxLengths = [c.RxLengths.Sum()] };
    }

    public static Property AnyLayoutCarriesTheSameFrame(SuiteContext ctx) =>
        Variants.ForEach(Cases, c =>
        {
            using var s = ctx.Open();
            // No receive buffers of the driver's own: this case posts the one it describes.
            var d = new NetDriver(s.Device, ctx.DriverOptions with { ReceiveBuffersPerQueue = 0 });
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            if ((c.TxIndirect || c.RxIndirect) && !features.Has(FeatureBit.IndirectDesc)) { ThisCase.NotApplicable("the device does not offer VIRTIO_F_INDIRECT_DESC"); return; }
            if (c.RxLengths.Any(l => l > GuestAllocator.SlotSize)) { ThisCase.NotApplicable("a receive buffer longer than the driver's slot"); return; }
            Probes.Initialize(d, features, 1);
            var rx = d.Queue(NetQueueLayout.Receiveq(1));
            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            rx.Add([], c.RxLengths, tag: "rx", indirect: c.RxIndirect);
            d.PublishAndKick(rx);

            ReceivedFrame? SendCut(ulong tag, bool cleanHeader = false)
            {
                var frame = TestFrames.Udp(c.Flow, tag);
                var packet = new byte[PacketBytes];
                if (!cleanHeader)
                {
                    packet[0] = c.TxFlags;
                    BinaryPrimitives.WriteUInt16LittleEndian(packet.AsSpan(2), c.HdrLen);
                    BinaryPrimitives.WriteUInt16LittleEndian(packet.AsSpan(6), c.CsumStart);
                    BinaryPrimitives.WriteUInt16LittleEndian(packet.AsSpan(8), c.CsumOffset);
                }
                frame.CopyTo(packet, SplitRing.NetHeaderSize);
                var bounds = c.TxCuts.Prepend(0).Append(PacketBytes).ToArray();
                tx.Add([.. bounds.Zip(bounds.Skip(1), (a, b) => packet[a..b])], [], tag: "tx", indirect: c.TxIndirect);
                d.PublishAndKick(tx);
                return d.WaitForFrame(tag, d.ResponseWait);
            }

            const ulong tag = 0xF4A3E;
            var got = SendCut(tag);
            if (got is null)
            {
                // The case varies the layout and the header together: which one the device refused is told by the same
                // layout with a clean header. Only when that one comes back are the flags to blame.
                var rule = Rule.RingFramingDevNoLayoutAssumption;
                if (c.TxFlags != 0)
                {
                    rx.Add([], c.RxLengths, tag: "rx", indirect: c.RxIndirect);
                    d.PublishAndKick(rx);
                    if (SendCut(tag + 2, cleanHeader: true) is not null) rule = Rule.NetTxDevIgnoreUnknownFlags;
                }
                throw Probes.Lost(d, 1, rule, $"the frame never came back on receiveq1; {c}", () => SendCut(tag + 1)?.Pair);
            }
            var numBuffers = got.Header.Length >= 12 ? BinaryPrimitives.ReadUInt16LittleEndian(got.Header.AsSpan(10)) : -1;
            Expect.That(got.Header.Length >= 2 && got.Header[0] == 0, Rule.NetRxDevFlagsNoGuestCsum,
                $"receive header flags 0x{(got.Header.Length > 0 ? got.Header[0] : 0):x2} without GUEST_CSUM (transmit header flags were 0x{c.TxFlags:x2})");
            Expect.That(got.Header[1] == 0, Rule.NetRxDevGsoTypes, $"receive header gso_type {got.Header[1]} with no guest offload negotiated");
            Expect.That(numBuffers == 1, Rule.NetRxDevNumBuffers1, $"receive header num_buffers {numBuffers} without MRG_RXBUF");
            // The frame whole and its used length counted, judged by the same oracle the driver applies to its own frames.
            Expect.Holds(FrameJudgement.Judge(got.Contents, got.UsedLength, TestFrames.Udp(c.Flow, tag), got.Pair));
        });

    public static readonly SuiteCheck AnyLayoutCleanHeader = new(nameof(Frames_cross_in_any_descriptor_layout_with_a_clean_receive_header), AnyLayoutCarriesTheSameFrame,
        [Rule.RingFramingDevNoLayoutAssumption, Rule.NetTxDevIgnoreUnknownFlags, Rule.NetRxDevFlagsNoGuestCsum, Rule.NetRxDevGsoTypes,
         Rule.NetRxDevNumBuffers1, Rule.RingUsedDevWriteLenBytes], [Plane.Data], CaseCount);

    [Test, Check]
    public void Frames_cross_in_any_descriptor_layout_with_a_clean_receive_header() => Suite.Verify(AnyLayoutCleanHeader);
}
