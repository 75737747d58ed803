using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Automatic receive steering for packets that are not the IPv4/UDP the rest of the suite sends (§5.1.9.5.6):
/// ARP, IPv6, VLAN-tagged, unknown ethertypes, IPv4 with options, with a header length it cannot have, or cut
/// short. The device may classify them however it likes, but the queue rules do not depend on the protocol: nothing
/// lands above virtqueue_pairs, only receiveq1 is used before VQ_PAIRS_SET, and a flow's packets ought to follow
/// the transmitq it was sent on. A device that parses headers for its flow table must not trip over any of them.
/// </summary>
[TestFixture, Category("Multiqueue")]
public sealed class AnyProtocolSteeringTests
{
    public enum Kind { Arp, Ipv6Udp, VlanIpv4, UnknownEthertype, Ipv4Options, Ipv4BadHeaderLength, Ipv4CutShort, HeaderOnly }

    /// <param name="Length">Frame length; each kind clamps it to what it can be.</param>
    /// <param name="Fill">Seeds the bytes after the headers, and the IPv4 header length for the kinds that choose one.</param>
    public sealed record OddFrame(int TxPair, Kind Kind, int Length, int Fill)
    {
        public override string ToString() => $"{Kind} ({Length} bytes, fill {Fill}) on transmitq{TxPair}";
    }

    public sealed record SteeringCase(int Pairs, OddFrame[] Frames)
    {
        public override string ToString() => $"VQ_PAIRS_SET({Pairs}), then {string.Join(", ", Frames.Select(f => f.ToString()))}";
    }

    private static Gen<OddFrame> Frame(int pairs, Kind kind) =>
        from tx in Gen.Choose(1, pairs)
        from length in Gen.Frequency((3, Gen.Choose(14, 80)), (1, Gen.Choose(81, 1514)))
        from fill in Gen.Choose(0, 0xFFFF)
        select new OddFrame(tx, kind, length, fill);

    /// <summary>
    /// A frame of every kind in every case, each on a random transmitq with a random length and fill: a run meets every
    /// kind whatever the seed. Shrinking drops frames, down to the one kind that fails.
    /// </summary>
    public static Arbitrary<SteeringCase> Cases { get; } = Arb.From(
        from pairs in Gen.Choose(1, 4)
        from frames in Variants.OneEach(Variants.Of<Kind>(), k => Frame(pairs, k))
        select new SteeringCase(pairs, frames), Shrink);

    private static IEnumerable<SteeringCase> Shrink(SteeringCase c)
    {
        foreach (var frames in Generators.ShrinkList(c.Frames)) yield return c with { Frames = frames };
        for (var i = 0; i < c.Frames.Length; i++)
            if (c.Frames[i].Length > 14) yield return c with { Frames = [.. c.Frames.Select((f, j) => j == i ? f with { Length = 14 + (f.Length - 14) / 2 } : f)] };
    }

    /// <summary>Builds the frame; <paramref name="serial"/> goes into the source MAC so every frame of a case is unique.</summary>
    public static byte[] Build(OddFrame f, int serial)
    {
        var rng = new Random(f.Fill);
        var (type, min) = f.Kind switch
        {
            Kind.Arp => (0x0806, 42),
            Kind.Ipv6Udp => (0x86DD, 62),
            Kind.VlanIpv4 => (0x8100, 46),
            Kind.UnknownEthertype => (0x88B5 + f.Fill % 8, 14), // the IEEE local experimental ethertypes and after
            Kind.Ipv4Options => (0x0800, 14 + 4 * (6 + f.Fill % 10) + 8),
            Kind.Ipv4BadHeaderLength => (0x0800, 34),
            Kind.Ipv4CutShort => (0x0800, 14),
            _ => (0x0800, 14),
        };
        var length = f.Kind switch
        {
            Kind.Ipv4CutShort => Math.Clamp(f.Length, 14, 37),
            Kind.HeaderOnly => 14,
            _ => Math.Clamp(f.Length, min, 1514),
        };
        var frame = new byte[length];
        rng.NextBytes(frame);
        byte[] dst = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        dst.CopyTo(frame, 0);
        frame[6] = 0x02; // a locally administered unicast source
        frame[7] = 0x4F;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), serial);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), (ushort)type);
        if (length < 15) return frame;
        switch (f.Kind)
        {
            case Kind.Ipv6Udp:
                frame[14] = 0x60;
                frame[20] = 17;
                break;
            case Kind.VlanIpv4:
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), 0x0800);
                frame[18] = 0x45;
                frame[27] = 17;
                break;
            case Kind.Ipv4Options:
                frame[14] = (byte)(0x40 | (6 + f.Fill % 10));
                frame[23] = (byte)(f.Fill % 2 == 0 ? 6 : 17);
                break;
            case Kind.Ipv4BadHeaderLength:
                frame[14] = (byte)(0x40 | (f.Fill % 5)); // IHL 0..4: shorter than any IPv4 header
                frame[23] = 17;
                break;
            case Kind.Ipv4CutShort:
                frame[14] = 0x45;
                if (length > 23) frame[23] = (byte)(f.Fill % 2 == 0 ? 6 : 17);
                break;
        }
        return frame;
    }

    public static Property Steering(SuiteContext ctx, params string[] checkedIds) =>
        Prop.ForAll(Cases, c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            // Every pair's queues are set up, not only the ones in use: a frame steered above virtqueue_pairs then lands
            // where the suite sees it, instead of being dropped for want of a receive buffer.
            var queuePairs = features.Has(FeatureBit.NetMq) ? Math.Min(d.MaxPairs, Generators.TrafficPairs) : 1;
            var pairs = Math.Min(c.Pairs, queuePairs);
            Probes.Initialize(d, features, queuePairs);
            var model = PairsRangeTests.Model(d);
            // Before VQ_PAIRS_SET only pair 1 may carry anything, whatever the protocol.
            Probes.LoopbackFrame(d, model, 1, Build(new OddFrame(1, Kind.Arp, 60, 0), -1), checkedIds);
            if (model.MultiqueueNegotiated && pairs > 1) model = Probes.PairsSet(d, model, pairs, Rule.NetMqDefVqPairsSet);
            var serial = 0;
            foreach (var f in c.Frames.Where(f => f.TxPair <= pairs))
            {
                Probes.LoopbackFrame(d, model, f.TxPair, Build(f, serial++), checkedIds);
                d.CollectReceived();
            }
        });

    public static readonly SuiteCheck AnyProtocolEnabledQueuesOnly = new(nameof(Frames_of_any_protocol_come_back_only_on_enabled_receive_queues),
        ctx => Steering(ctx, [.. AnyProtocolEnabledQueuesOnly!.RequirementIds]),
        [Rule.NetVqDefLayout, Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevRxQ1AfterReset], [Plane.Data], 40);

    public static readonly SuiteCheck AnyProtocolFollowTx = new(nameof(Frames_of_any_protocol_follow_their_transmitq), ctx => Steering(ctx, [.. AnyProtocolFollowTx!.RequirementIds]),
        [Rule.NetMqDevFollowTx], [Plane.Data], 40);

    [Test, Check]
    public void Frames_of_any_protocol_come_back_only_on_enabled_receive_queues() => Suite.Verify(AnyProtocolEnabledQueuesOnly);

    [Test, Check, Category("Should")]
    public void Frames_of_any_protocol_follow_their_transmitq() => Suite.Verify(AnyProtocolFollowTx);
}
