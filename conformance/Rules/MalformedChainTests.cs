using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Descriptor chains a driver is forbidden to build (§2.7.5, §2.7.5.3) and an available index that claims more
/// buffers than the ring holds (§2.7.6). The spec sets the device no duty for the chains, so refusing them
/// without acting on them and keeping the queue is a robustness expectation; an impossible available index
/// leaves the ring in a state only a reset repairs, which is what DEVICE_NEEDS_RESET is for (§2.1.2, SHOULD).
/// </summary>
[TestFixture, Category("Ring")]
public sealed class MalformedChainTests
{
    public enum Malformation
    {
        Loop, NextPastTable, ReadableAfterWritable,
        /// <summary>Readable, readable, writable, writable, then readable again: an odd number of writables before it is no excuse.</summary>
        ReadableAfterWritables,
        OutsideMemory, HeadPastQueueSize,
        IndirectWithNext, EmptyIndirect, MisalignedIndirect,
        /// <summary>The indirect table's entry points at a second, well-formed table: one table per descriptor only.</summary>
        NestedIndirect,
        /// <summary>An entry of a one-entry indirect table chains to entry 1.</summary>
        NextPastIndirectTable,
        /// <summary>A two-entry indirect table whose second entry lies past the end of guest memory; the chain uses only the first.</summary>
        IndirectTableOutsideMemory,
        IndirectWithoutFeature,
        /// <summary>A transmit buffer shorter than the virtio-net header, which the driver must send whole (§5.1.9.2.1).</summary>
        ShorterThanHeader,
        /// <summary>A receive buffer outside guest memory, posted ahead of a good one.</summary>
        ReceiveOutsideMemory,
    }

    /// <param name="Before">Frames looped back first, so the indices are not at 0.</param>
    /// <param name="SameKick">The well-formed frame is made available with the malformed chain, under one kick.</param>
    public sealed record ChainCase(Malformation Malformation, int Before, bool SameKick)
    {
        public override string ToString() =>
            $"{Malformation} on {(Malformation == Malformation.ReceiveOutsideMemory ? "receiveq1" : "transmitq1")} after {Before} frame(s)" +
            (SameKick ? ", a well-formed frame behind it under the same kick" : "");
    }

    private const ulong BadTag = 0xBAD0C0DE;
    private const ulong GoodTag = 0x600D;
    private const string ChainRule = Rule.RobustRingMalformedChainRefused;

    private static bool IsIndirect(Malformation m) => m is Malformation.IndirectWithNext or Malformation.EmptyIndirect or Malformation.MisalignedIndirect
        or Malformation.NestedIndirect or Malformation.NextPastIndirectTable or Malformation.IndirectTableOutsideMemory
        or Malformation.IndirectWithoutFeature;

    /// <summary>
    /// Every malformation, alone under its kick and with a well-formed frame behind it under the same kick, in every case;
    /// only the frames before it are random, so a run meets all of them whatever the seed. The receive buffer outside
    /// memory must be the first thing the device meets, so it has no frames before it and nothing behind it.
    /// </summary>
    private static readonly (Malformation Malformation, bool SameKick)[] ChainVariants =
    [
        .. from m in Variants.Of<Malformation>()
           from sameKick in m == Malformation.ReceiveOutsideMemory ? new[] { false } : [false, true]
           select (m, sameKick),
    ];

    public static Arbitrary<EveryVariant<ChainCase>> ChainCases { get; } = Variants.Each(ChainVariants, v =>
        from before in v.Malformation == Malformation.ReceiveOutsideMemory ? Gen.Constant(0) : Gen.Choose(0, 3)
        select new ChainCase(v.Malformation, before, v.SameKick), ShrinkChain);

    /// <summary>About the sub-cases the check used to spend on 60 cases of one malformation each.</summary>
    public static int ChainCaseCount { get; } = Variants.CasesFor(60, ChainVariants.Length);

    private static IEnumerable<ChainCase> ShrinkChain(ChainCase c)
    {
        if (c.Before > 0) yield return c with { Before = 0 };
    }

    /// <remarks>
    /// The careful answers a device may give, each accepted below; anything else is a finding:
    ///  1. It returns the chain used without acting on it (nothing of it reaches a receiveq) and the queue goes on
    ///     (the reference: used, length 0).
    ///  2. It gives up on the queue with DEVICE_NEEDS_RESET, at once or when the next frame comes (QEMU's virtio_error);
    ///     over vhost-user a back-end says so on the ring's error eventfd (SET_VRING_ERR) and the suite's device model
    ///     sets the bit.
    ///  3. For a head past the queue size, which names no buffer, it need not return anything.
    /// Keeping the chain without DEVICE_NEEDS_RESET, acting on it, or stalling the queue is not careful.
    /// </remarks>
    public static Property MalformedChainsAreRefused(SuiteContext ctx) =>
        Variants.ForEach(ChainCases, c =>
        {
            using var s = ctx.Open();
            var receive = c.Malformation == Malformation.ReceiveOutsideMemory;
            // A bad receive buffer must be the first the device meets, so the driver posts none of its own there.
            var d = receive ? new NetDriver(s.Device, ctx.DriverOptions with { ReceiveBuffersPerQueue = 0 }) : s.Driver;
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            if (ctx.Format == RingFormat.Packed && SplitOnly(c.Malformation) is { } why) { ThisCase.NotApplicable(why); return; }
            var indirect = IsIndirect(c.Malformation);
            if (c.Malformation == Malformation.IndirectWithoutFeature) features = features.Without(FeatureBit.IndirectDesc);
            else if (indirect && !features.Has(FeatureBit.IndirectDesc)) { ThisCase.NotApplicable("the device does not offer VIRTIO_F_INDIRECT_DESC"); return; }
            Probes.Initialize(d, features, 1);
            for (var i = 0; i < c.Before; i++) d.SendAndLocate(1, flow: i, d.ResponseWait);
            d.ClearReceived();

            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            var rx = d.Queue(NetQueueLayout.Receiveq(1));
            var broken = receive ? rx : tx;
            byte[] packet = [.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(7, BadTag)];
            var head = c.Malformation switch
            {
                Malformation.Loop => tx.Add([packet[..40], packet[40..]], [], tag: "tx"),
                Malformation.ReadableAfterWritable => tx.Add([packet], [SplitRing.NetHeaderSize], tag: "tx"),
                Malformation.ReadableAfterWritables => tx.Add([packet[..40], packet[40..]], [SplitRing.NetHeaderSize, SplitRing.NetHeaderSize, SplitRing.NetHeaderSize], tag: "tx"),
                // 11, 8, 5 or 2 bytes: a device that takes the header as given would read a frame of negative length.
                Malformation.ShorterThanHeader => tx.Add([packet[..(SplitRing.NetHeaderSize - 1 - 3 * c.Before)]], [], tag: "tx"),
                Malformation.ReceiveOutsideMemory => rx.Add([], [d.Options.ReceiveBufferBytes], tag: "bad-rx"),
                _ => tx.Add([packet], [], tag: "tx", indirect: indirect),
            } ?? throw new InvalidOperationException($"vq {broken.Index} has no free descriptors");
            Break(d, broken, head, c.Malformation);
            if (receive) rx.Add([], [d.Options.ReceiveBufferBytes], tag: "rx");
            if (c.SameKick) tx.Add([[.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(8, GoodTag)]], [], tag: "tx");
            d.PublishAndKick(broken);

            if (NeedsReset(d)) { ThisCase.Judged(); return; } // giving up on the ring is a careful answer too
            int? at = null;
            try
            {
                at = c.SameKick ? d.WaitForFrame(GoodTag, d.ResponseWait)?.Pair : d.SendAndLocate(1, flow: 8, d.ResponseWait);
            }
            catch (DeviceProtocolException e) when (e.RequirementId is null)
            {
                throw Expect.Violated(ChainRule, $"after {c}: {e.Message}");
            }
            if (at is null && NeedsReset(d)) { ThisCase.Judged(); return; }
            Expect.That(at == 1, ChainRule, $"after {c}, a well-formed frame on transmitq1 " +
                (at is { } p ? $"came back on receiveq{p}" : "never came back") + ", and the device did not set DEVICE_NEEDS_RESET");
            // Nothing of the refused chain reaches a receiveq, not even a piece of it.
            // A frame tagged by another send is not a piece of it (a device that outlives sessions may still carry one).
            d.CollectReceived();
            var pieces = d.Received.Where(r => TestFrames.TagOf(r.Frame) is not { } t || t == BadTag).ToList();
            Expect.That(pieces.Count == 0, ChainRule, $"{c}: the refused chain came back as a {(pieces.Count > 0 ? pieces[0].Frame.Length : 0)}-byte frame");
            // And it is returned: a device that keeps refused chains leaves the driver without descriptors. A head past
            // the queue size names no buffer, so nothing can be returned for it.
            if (c.Malformation == Malformation.HeadPastQueueSize) return;
            var returned = d.TryWaitUntil(() => broken.DeviceUsedIdx == broken.PublishedIdx || NeedsReset(d), d.ResponseWait);
            Expect.That(returned, ChainRule, $"{c}: vq {broken.Index} used idx stays at {broken.DeviceUsedIdx} while avail idx is {broken.PublishedIdx}: the refused chain never came back used");
        });

    /// <summary>
    /// The malformations a packed ring cannot carry, and why: its descriptors chain by position, not by next fields, and a
    /// buffer is named by an ID, not a head index.
    /// </summary>
    private static string? SplitOnly(Malformation m) => m switch
    {
        Malformation.Loop or Malformation.NextPastTable => "a packed list has no next field to loop or to point past the ring",
        Malformation.HeadPastQueueSize => "a packed ring has no head index: buffers are found by position",
        Malformation.NextPastIndirectTable => "a packed indirect table's descriptors follow each other; NEXT is ignored there (§2.8.7)",
        // Inside a packed table only WRITE counts: a device that reads the entry as a plain buffer does what §2.8.7 says.
        Malformation.NestedIndirect => "INDIRECT inside a packed indirect table is reserved and ignored (§2.8.7): the entry is a plain buffer, not a nested table",
        // NEXT after INDIRECT makes the next slot part of the list, so the well-formed frame behind it is that list's too.
        Malformation.IndirectWithNext => "on a packed ring NEXT after an INDIRECT descriptor swallows the next slot into the list, so nothing behind it can be judged apart",
        _ => null,
    };

    /// <summary>Rewrites the descriptors (or the avail entry) of a chain the driver built well, before it is published.</summary>
    private static void Break(NetDriver d, DriverVirtqueue q, ushort head, Malformation m)
    {
        var mem = d.Device.Memory;
        ulong Desc(ulong table, int i) => table + (ulong)SplitRing.DescriptorSize * (ulong)i;
        // The descriptor layouts agree on addr (0) and len (8); flags sit at 12 in a split descriptor, 14 in a packed one.
        var flagsAt = (ulong)q.DescriptorFlagsOffset;
        var h = q.DescriptorAddress(head, 0);
        switch (m)
        {
            case Malformation.Loop:
                var second = mem.ReadU16(h + 14);
                // The second descriptor points back at the head.
                mem.WriteU16(Desc(q.Registers.Desc, second) + 12, SplitRing.DescFNext);
                mem.WriteU16(Desc(q.Registers.Desc, second) + 14, head);
                break;
            case Malformation.NextPastTable:
                mem.WriteU16(h + 12, SplitRing.DescFNext);
                mem.WriteU16(h + 14, (ushort)q.Size);
                break;
            case Malformation.ReadableAfterWritables:
                // The chain's fifth descriptor, the last writable one, turns readable.
                q.RewriteFlags(head, 4, 0);
                break;
            case Malformation.ReadableAfterWritable:
                // The packet descriptor turns device-writable and the (header-sized) writable one after it readable.
                q.RewriteFlags(head, 0, SplitRing.DescFWrite | SplitRing.DescFNext);
                q.RewriteFlags(head, 1, 0);
                break;
            case Malformation.OutsideMemory or Malformation.ReceiveOutsideMemory:
                mem.WriteU64(h, d.Device.MemoryBase + d.Device.MemorySize);
                break;
            case Malformation.HeadPastQueueSize:
                // The first index past the table: the edge an off-by-one in the device's bound check lets through.
                mem.WriteU16(q.Registers.Avail + 4 + 2UL * (ulong)(q.PublishedIdx % q.Size), (ushort)q.Size);
                break;
            case Malformation.IndirectWithNext:
                q.RewriteFlags(head, 0, SplitRing.DescFIndirect | SplitRing.DescFNext);
                break;
            case Malformation.EmptyIndirect:
                mem.WriteU32(h + 8, 0);
                break;
            case Malformation.MisalignedIndirect:
                mem.WriteU32(h + 8, SplitRing.DescriptorSize + 4);
                break;
            case Malformation.NestedIndirect:
                // A second table in the same slot, holding the packet's descriptor: a device that follows it sends the packet.
                var table = mem.ReadU64(h);
                var inner = table + 1024;
                mem.Span(Desc(table, 0), SplitRing.DescriptorSize).CopyTo(mem.Span(inner, SplitRing.DescriptorSize));
                mem.WriteU64(Desc(table, 0), inner);
                mem.WriteU32(Desc(table, 0) + 8, SplitRing.DescriptorSize);
                mem.WriteU16(Desc(table, 0) + flagsAt, SplitRing.DescFIndirect);
                break;
            case Malformation.IndirectTableOutsideMemory:
                // The table moves to the last 16 bytes of memory with the packet's descriptor, and claims two entries.
                var end = d.Device.MemoryBase + d.Device.MemorySize;
                mem.Span(mem.ReadU64(h), SplitRing.DescriptorSize).CopyTo(mem.Span(end - SplitRing.DescriptorSize, SplitRing.DescriptorSize));
                mem.WriteU64(h, end - SplitRing.DescriptorSize);
                mem.WriteU32(h + 8, 2 * SplitRing.DescriptorSize);
                break;
            case Malformation.NextPastIndirectTable:
                // Entry 1 lies past the one-entry table; it is zeroed, so a device that reads it finds an empty descriptor.
                var single = mem.ReadU64(h);
                mem.Span(Desc(single, 1), SplitRing.DescriptorSize).Clear();
                mem.WriteU16(Desc(single, 0) + 12, SplitRing.DescFNext);
                mem.WriteU16(Desc(single, 0) + 14, 1);
                break;
            case Malformation.IndirectWithoutFeature:
                break; // the driver built an indirect table although INDIRECT_DESC was not negotiated
            case Malformation.ShorterThanHeader:
                break; // the chain is well formed; its one buffer is too short to be a packet
        }
    }

    private static bool NeedsReset(NetDriver d) => (d.Device.ReadStatus() & DeviceStatus.DeviceNeedsReset) != 0;

    /// <summary>
    /// The driver exposes more buffers than the ring has entries: the device cannot tell which entries are real. Once
    /// it has said so, a reset must clear it: the device is judged again after a fresh initialization.
    /// </summary>
    public sealed record OverrunCase(int Before, int Excess, bool OnControlq)
    {
        public override string ToString() => $"{(OnControlq ? "the controlq" : "transmitq1")} overrun by {Excess} after {Before} frame(s)";
    }

    /// <summary>Both rings in every case (transmitq1, then the controlq), so no seed leaves the controlq out.</summary>
    public static Arbitrary<EveryVariant<OverrunCase>> OverrunCases { get; } = Variants.Each([false, true], onControlq =>
        from before in Gen.Choose(0, 3)
        from excess in Gen.Choose(1, 1000)
        select new OverrunCase(before, excess, onControlq), c => c.Before > 0 ? [c with { Before = 0 }] : []);

    /// <summary>The sub-cases the check used to spend on 10 cases of one ring each.</summary>
    public static int OverrunCaseCount { get; } = Variants.CasesFor(10, 2);

    public static Property AnImpossibleAvailableIndexNeedsAReset(SuiteContext ctx)
    {
        return Variants.ForEach(OverrunCases, c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            if (c.OnControlq && !features.Has(FeatureBit.NetCtrlVq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_CTRL_VQ"); return; }
            Probes.Initialize(d, features, 1);
            for (var i = 0; i < c.Before; i++) d.SendAndLocate(1, flow: i, d.ResponseWait);
            var q = c.OnControlq ? d.Queue(d.Layout.ControlqIndex!.Value) : d.Queue(NetQueueLayout.Transmitq(1));
            var name = c.OnControlq ? "the controlq" : "transmitq1";
            var published = q.PublishedIdx;
            var claimed = (ushort)(published + q.Size + c.Excess);
            d.Device.Memory.WriteU16Release(q.Registers.Avail + 2, claimed);
            // The entries the overrun exposes are old ones: a device that sends their frames again sends what it was given.
            d.ExposedAgain();
            d.Device.Kick(q.Index);
            var said = d.TryWaitUntil(() => NeedsReset(d), d.ResponseWait == TimeSpan.Zero ? TimeSpan.Zero : d.Options.Timeout);
            Expect.That(said, Rule.CoreStatusDevNeedsReset,
                $"{name} avail idx moved from {published} to {claimed}, {q.Size + c.Excess} buffers on a {q.Size}-entry ring, and the device did not set DEVICE_NEEDS_RESET (status {d.Device.ReadStatus()})");
            // Only a reset clears it: a bit that comes and goes tells the driver nothing it can act on.
            for (var i = 0; i < 3; i++)
                Expect.That(NeedsReset(d), Rule.CoreStatusDevNeedsReset, $"{name} was overrun; DEVICE_NEEDS_RESET showed, then read {i + 1} no longer showed it");

            // A reset is the driver's way out of DEVICE_NEEDS_RESET: afterwards the device starts clean.
            Probes.Initialize(d, features, 1);
            var status = d.Device.ReadStatus();
            Expect.That((status & DeviceStatus.DeviceNeedsReset) == 0, Rule.CoreStatusResetValue,
                $"after {name} was overrun, a reset and a fresh initialization, the device still shows DEVICE_NEEDS_RESET (status {status}): the error outlived the reset");
            Probes.Loopback(d, PairsRangeTests.Model(d), 1, 0, Rule.CoreStatusResetValue, Rule.NetVqDefLayout);
        });
    }

    public static readonly SuiteCheck MalformedRefused = new(nameof(Malformed_descriptor_chains_are_refused_and_the_queue_keeps_working), MalformedChainsAreRefused,
        [Rule.RobustRingMalformedChainRefused], [Plane.Data], ChainCaseCount);

    public static readonly SuiteCheck ImpossibleAvailIndex = new(nameof(An_available_index_beyond_the_ring_size_sets_DEVICE_NEEDS_RESET), AnImpossibleAvailableIndexNeedsAReset,
        [Rule.CoreStatusDevNeedsReset, Rule.CoreStatusResetValue], [Plane.Data], OverrunCaseCount, splitOnly: SplitAvailIdx);

    private const string SplitAvailIdx = "it claims more buffers than the ring holds through the split ring's avail idx; a packed ring has no such index to overrun";

    [Test, Check, Category("Robustness")]
    public void Malformed_descriptor_chains_are_refused_and_the_queue_keeps_working() => Suite.Verify(MalformedRefused);

    [Test, Check, Category("Should")]
    public void An_available_index_beyond_the_ring_size_sets_DEVICE_NEEDS_RESET() => Suite.Verify(ImpossibleAvailIndex);
}
