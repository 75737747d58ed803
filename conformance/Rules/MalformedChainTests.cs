using FsCheck;
using FsCheck.Fluent;
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
[TestFixture, Category("Ring"), Plane(Plane.Data)]
public sealed class MalformedChainTests
{
    public enum Malformation
    {
        Loop, NextPastTable, ReadableAfterWritable, OutsideMemory, HeadPastQueueSize,
        IndirectWithNext, EmptyIndirect, MisalignedIndirect, NestedIndirect, IndirectWithoutFeature,
        /// <summary>A transmit buffer shorter than the virtio-net header, which the driver must send whole (§5.1.9.2.1).</summary>
        ShorterThanHeader,
    }

    private const ulong BadTag = 0xBAD0C0DE;

    public static Property MalformedChainsAreRefused(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Gen.Elements(Enum.GetValues<Malformation>()).SelectMany(m => Gen.Choose(0, 3).Select(before => (Malformation: m, Before: before)))), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            var indirect = c.Malformation is Malformation.IndirectWithNext or Malformation.EmptyIndirect or Malformation.MisalignedIndirect
                or Malformation.NestedIndirect or Malformation.IndirectWithoutFeature;
            if (c.Malformation == Malformation.IndirectWithoutFeature) features = features.Without(FeatureBit.IndirectDesc);
            else if (indirect && !features.Has(FeatureBit.IndirectDesc)) return;
            Probes.Initialize(d, features, 1);
            for (var i = 0; i < c.Before; i++) d.SendAndLocate(1, flow: i, d.ResponseWait);

            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            byte[] packet = [.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(7, BadTag)];
            var head = c.Malformation switch
            {
                Malformation.Loop => tx.Add([packet[..40], packet[40..]], [], tag: "tx"),
                Malformation.ReadableAfterWritable => tx.Add([packet], [SplitRing.NetHeaderSize], tag: "tx"),
                // 11, 8, 5 or 2 bytes: a device that takes the header as given would read a frame of negative length.
                Malformation.ShorterThanHeader => tx.Add([packet[..(SplitRing.NetHeaderSize - 1 - 3 * c.Before)]], [], tag: "tx"),
                _ => tx.Add([packet], [], tag: "tx", indirect: indirect),
            } ?? throw new InvalidOperationException("transmitq1 has no free descriptors");
            Break(d, tx, head, c.Malformation);
            d.PublishAndKick(tx);

            const string rule = "robust.ring.malformed-chain-refused";
            if (NeedsReset(d)) return; // giving up on the ring is a careful answer too
            Expect.That(d.Claim(BadTag) is null, rule, $"a transmitq1 chain with {c.Malformation} was delivered as a frame");
            int? at = null;
            try
            {
                at = d.SendAndLocate(1, flow: 8, d.ResponseWait);
            }
            catch (DeviceProtocolException e)
            {
                throw Expect.Violated(rule, $"after a transmitq1 chain with {c.Malformation}: {e.Message}");
            }
            if (at is null && NeedsReset(d)) return;
            Expect.That(at == 1, rule, $"after a transmitq1 chain with {c.Malformation}, a well-formed frame on transmitq1 " +
                (at is { } p ? $"came back on receiveq{p}" : "never came back") + ", and the device did not set DEVICE_NEEDS_RESET");
        });

    /// <summary>Rewrites the descriptors (or the avail entry) of a chain the driver built well, before it is published.</summary>
    private static void Break(NetDriver d, DriverVirtqueue q, ushort head, Malformation m)
    {
        var mem = d.Device.Memory;
        ulong Desc(ulong table, int i) => table + (ulong)SplitRing.DescriptorSize * (ulong)i;
        var h = Desc(q.Registers.Desc, head);
        var second = mem.ReadU16(h + 14);
        switch (m)
        {
            case Malformation.Loop:
                // The second descriptor points back at the head.
                mem.WriteU16(Desc(q.Registers.Desc, second) + 12, SplitRing.DescFNext);
                mem.WriteU16(Desc(q.Registers.Desc, second) + 14, head);
                break;
            case Malformation.NextPastTable:
                mem.WriteU16(h + 12, SplitRing.DescFNext);
                mem.WriteU16(h + 14, (ushort)q.Size);
                break;
            case Malformation.ReadableAfterWritable:
                // The packet descriptor turns device-writable and the (header-sized) writable one after it readable.
                mem.WriteU16(h + 12, SplitRing.DescFWrite | SplitRing.DescFNext);
                mem.WriteU16(Desc(q.Registers.Desc, second) + 12, 0);
                break;
            case Malformation.OutsideMemory:
                mem.WriteU64(h, d.Device.MemoryBase + d.Device.MemorySize);
                break;
            case Malformation.HeadPastQueueSize:
                mem.WriteU16(q.Registers.Avail + 4 + 2UL * (ulong)(q.PublishedIdx % q.Size), (ushort)(q.Size + head));
                break;
            case Malformation.IndirectWithNext:
                mem.WriteU16(h + 12, SplitRing.DescFIndirect | SplitRing.DescFNext);
                break;
            case Malformation.EmptyIndirect:
                mem.WriteU32(h + 8, 0);
                break;
            case Malformation.MisalignedIndirect:
                mem.WriteU32(h + 8, SplitRing.DescriptorSize + 4);
                break;
            case Malformation.NestedIndirect:
                var table = mem.ReadU64(h);
                mem.WriteU16(Desc(table, 0) + 12, SplitRing.DescFIndirect);
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
    public static Property AnImpossibleAvailableIndexNeedsAReset(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Gen.Choose(0, 3).SelectMany(before => Gen.Choose(1, 1000).Select(excess => (Before: before, Excess: excess)))), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            for (var i = 0; i < c.Before; i++) d.SendAndLocate(1, flow: i, d.ResponseWait);
            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            var published = tx.PublishedIdx;
            var claimed = (ushort)(published + tx.Size + c.Excess);
            d.Device.Memory.WriteU16Release(tx.Registers.Avail + 2, claimed);
            d.Device.Kick(tx.Index);
            var said = d.TryWaitUntil(() => NeedsReset(d), d.ResponseWait == TimeSpan.Zero ? TimeSpan.Zero : d.Options.Timeout);
            Expect.That(said, "core.status.dev.needs-reset",
                $"transmitq1 avail idx moved from {published} to {claimed}, {tx.Size + c.Excess} buffers on a {tx.Size}-entry ring, and the device did not set DEVICE_NEEDS_RESET (status {d.Device.ReadStatus()})");

            // A reset is the driver's way out of DEVICE_NEEDS_RESET: afterwards the device starts clean.
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            var status = d.Device.ReadStatus();
            Expect.That((status & DeviceStatus.DeviceNeedsReset) == 0, "core.status.reset-value",
                $"after transmitq1 was overrun, a reset and a fresh initialization, the device still shows DEVICE_NEEDS_RESET (status {status}): the error outlived the reset");
            Probes.Loopback(d, PairsRangeTests.Model(d), 1, 0, "core.status.reset-value", "net.vq.def.layout");
        });

    [Test, Category("Robustness"), Requirement("robust.ring.malformed-chain-refused")]
    public void Malformed_descriptor_chains_are_refused_and_the_queue_keeps_working() =>
        Suite.Verify(MalformedChainsAreRefused(SuiteContext.Current), cases: 40);

    [Test, Category("Should"), Requirement("core.status.dev.needs-reset", "core.status.reset-value")]
    public void An_available_index_beyond_the_ring_size_sets_DEVICE_NEEDS_RESET() =>
        Suite.Verify(AnImpossibleAvailableIndexNeedsAReset(SuiteContext.Current), cases: 10);
}
