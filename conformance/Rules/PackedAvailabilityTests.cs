using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// What makes a packed-ring descriptor available (§2.8.1, §2.8.12, §2.8.15). A descriptor is available when its AVAIL bit
/// equals the device's wrap counter and its USED bit does not. The device starts descriptors in ring order and takes one up
/// only once its AVAIL bit has changed. A packet is put at the driver's next slot, and its first descriptor shows the
/// device something else for a while: the flags of an available descriptor of the other lap (what the slot held the lap
/// before), or flags whose AVAIL bit is right but whose USED bit equals it (a used descriptor's). Sometimes a second packet
/// is made available right behind it, as a driver publishing a batch last-first does for a moment. The device is kicked
/// and given its settle time: it must send neither. Then both are published, and both must come back. The rings are
/// first moved on by a random number of frames, so either wrap counter is met.
/// </summary>
[TestFixture, Category("Ring")]
public sealed class PackedAvailabilityTests
{
    /// <summary>What the first descriptor shows the device before it is made available.</summary>
    public enum Lure
    {
        /// <summary>An available descriptor of the other lap: AVAIL and USED the wrong way round for this lap.</summary>
        OtherLap,
        /// <summary>AVAIL equal to the wrap counter, and USED equal to it too: a used descriptor.</summary>
        LooksUsed,
    }

    /// <param name="RingSize">Descriptors in each ring.</param>
    /// <param name="Before">Frames looped through pair 1 first, to move the rings on (past a lap when it exceeds the size).</param>
    /// <param name="Behind">Whether a second packet, right after the first, is made available meanwhile.</param>
    public sealed record AvailabilityCase(int RingSize, int Before, Lure Lure, bool Behind, int Flow)
    {
        public override string ToString() =>
            $"rings of {RingSize}, {Before} frame(s) first, then a packet whose first descriptor shows {(Lure == Lure.OtherLap ? "the other lap's available flags" : "used flags")}" +
            (Behind ? ", with the next packet made available behind it" : "");
    }

    public static Arbitrary<AvailabilityCase> Cases { get; } = Arb.From(
        from size in Gen.Elements(4, 5, 8, 16)
        from before in Gen.Choose(0, 2 * size + 1)
        from lure in Gen.Elements(Lure.OtherLap, Lure.LooksUsed)
        from behind in Gen.Elements(false, true)
        from flow in Gen.Choose(0, 999)
        select new AvailabilityCase(size, before, lure, behind, flow), Shrink);

    private static IEnumerable<AvailabilityCase> Shrink(AvailabilityCase c)
    {
        if (c.Before > 0) yield return c with { Before = 0 };
        if (c.Before > 1) yield return c with { Before = c.Before / 2 };
        if (c.Behind) yield return c with { Behind = false };
    }

    public static Property OnlyAvailableDescriptorsAreUsed(SuiteContext ctx) =>
        Prop.ForAll(Cases, c =>
        {
            using var s = ctx.Open();
            var d = new NetDriver(s.Device, ctx.DriverOptions with { QueueSize = c.RingSize, SmallQueueSize = c.RingSize });
            d.BeginNegotiation();
            if (ctx.Format != RingFormat.Packed) { ThisCase.NotApplicable("a packed-ring check, run with split rings"); return; }
            if (!d.Offered.Has(FeatureBit.RingPacked)) { ThisCase.NotApplicable("the device does not offer VIRTIO_F_RING_PACKED"); return; }
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            if (tx.Size < c.RingSize) { ThisCase.NotApplicable($"the device's rings hold fewer than {c.RingSize} descriptors"); return; }
            for (var i = 0; i < c.Before; i++)
                if (d.SendAndLocate(1, c.Flow) is null)
                    throw Probes.Lost(d, 1, Rule.RingPackedDefWrapCounters, $"{c}: frame {i + 1} of the ones sent first never came back");
            while (tx.TakeUsed() is not null) { }

            const ulong FirstTag = 0xA7A_0001, SecondTag = 0xA7A_0002;
            var first = tx.Add([[.. new byte[d.HeaderSize], .. TestFrames.Udp(c.Flow, FirstTag)]], [])!.Value;
            var second = c.Behind ? tx.Add([[.. new byte[d.HeaderSize], .. TestFrames.Udp(c.Flow, SecondTag)]], []) : null;
            var shown = c.Lure == Lure.OtherLap ? PackedRing.AvailFlags(!Wrap(tx, first)) : PackedRing.UsedFlags(Wrap(tx, first));
            tx.ShowFlags(first, 0, shown);
            if (second is { } b) tx.PublishAhead(b);
            d.Device.Kick(tx.Index);
            var early = d.WaitForFrame(FirstTag, d.Device.SettleTime);
            var overtaken = second is not null && early is null ? d.WaitForFrame(SecondTag, TimeSpan.Zero) : null;
            Expect.That(early is null, c.Lure == Lure.OtherLap ? Rule.RingPackedDevUseAfterAvailChange : Rule.RingPackedDefAvailUsedBits,
                $"{c}: the device sent the packet while its descriptor's flags were 0x{shown:x4}, " +
                (c.Lure == Lure.OtherLap
                    ? "an available descriptor of the other lap: its AVAIL bit had not changed in this lap"
                    : "AVAIL and USED equal, which marks a used descriptor, not an available one"));
            Expect.That(overtaken is null, Rule.RingPackedDevProcessInRingOrder,
                $"{c}: the device sent the packet in the slot after one that was not available yet: descriptors are started in ring order");

            d.PublishAndKick(tx);
            foreach (var (tag, what) in second is null ? [(FirstTag, "the packet")] : new[] { (FirstTag, "the first packet"), (SecondTag, "the second packet") })
                if (d.WaitForFrame(tag, d.ResponseWait) is null)
                    throw Probes.Lost(d, 1, Rule.RingPackedDevUseAfterAvailChange,
                        $"{c}: {what} never came back once made available: the device had moved past its slot while it was not available, or stopped");
        });

    /// <summary>The wrap counter of the lap the buffer's first descriptor was written in.</summary>
    private static bool Wrap(DriverVirtqueue q, ushort head) => q.FirstSlotOf(head).Wrap;

    public static readonly SuiteCheck OnlyAvailable = new(nameof(Only_descriptors_marked_available_are_used_and_in_ring_order),
        OnlyAvailableDescriptorsAreUsed,
        [Rule.RingPackedDevUseAfterAvailChange, Rule.RingPackedDefAvailUsedBits, Rule.RingPackedDevProcessInRingOrder],
        [Plane.Data], 30, packedOnly: true);

    [Test, Check]
    public void Only_descriptors_marked_available_are_used_and_in_ring_order() => Suite.Verify(OnlyAvailable);
}
