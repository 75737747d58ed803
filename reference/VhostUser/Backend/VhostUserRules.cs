using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// A ring as GET_VRING_BASE sees it. Its base is the vring base num in the ring's format
/// (<see cref="Reference.Virtqueues.IDeviceVirtqueue.VringBase"/>): split, the next available index; packed,
/// <see cref="PackedVringBase"/>.
/// </summary>
public interface IStoppableRing
{
    /// <summary>Stops the ring and drops its kick fd; returns the base it would have gone on from, now its base.</summary>
    uint Stop();

    /// <summary>The base the ring would go on from, without stopping it.</summary>
    uint Current { get; }

    /// <summary>Where the ring resumes when it is started again without a SET_VRING_BASE.</summary>
    uint Base { set; }

    /// <summary>The ring's format, which decides what its base holds (split: the next available index; packed: <see cref="PackedVringBase"/>).</summary>
    RingFormat Format { get; }
}

/// <summary>The answer to GET_VRING_BASE: the vring base num, and whether it is sent at all.</summary>
public readonly record struct VringBaseReply(uint Next, bool Sent = true);

/// <summary>The back-end's answers to the vhost-user messages that shape its rings.</summary>
public interface IVhostUserRules
{
    /// <summary>The protocol features GET_PROTOCOL_FEATURES offers, out of <paramref name="offered"/>.</summary>
    ulong ProtocolFeatures(ulong offered);

    /// <summary>The protocol features the back-end goes by after SET_PROTOCOL_FEATURES(<paramref name="accepted"/>).</summary>
    ulong ProtocolFeaturesKept(ulong accepted);

    /// <summary>How many queue pairs' rings the back-end accepts messages for, serving <paramref name="servedPairs"/>.</summary>
    int PairsAccepted(int servedPairs);

    /// <summary>GET_QUEUE_NUM's answer, in queue pairs, for a back-end serving <paramref name="servedPairs"/>.</summary>
    ulong QueueNum(int servedPairs);

    /// <summary>
    /// The ring's base for SET_VRING_BASE(<paramref name="value"/>) on a ring of <paramref name="ringSize"/> entries (0 while
    /// unknown) in <paramref name="format"/>; throws to refuse it.
    /// </summary>
    uint SetVringBase(uint value, int ringSize, RingFormat format);

    /// <summary>GET_VRING_BASE on <paramref name="ring"/>.</summary>
    VringBaseReply GetVringBase(IStoppableRing ring);

    /// <summary>Where a ring started by a kick goes on from, given its <paramref name="base"/>.</summary>
    uint ResumeAt(uint @base);

    /// <summary>The rings enabled when the back-end is new or reset, serving <paramref name="servedPairs"/>.</summary>
    IEnumerable<int> InitiallyEnabled(int servedPairs);

    /// <summary>The rings SET_VRING_ENABLE with ring index <paramref name="index"/> switches.</summary>
    IEnumerable<int> RingsSwitched(int index, int servedPairs);
}

/// <summary>The vhost-user protocol as its specification (docs/interop/vhost-user.rst) describes it for a net back-end.</summary>
public sealed class VhostUserRules : IVhostUserRules
{
    public static VhostUserRules Instance { get; } = new();

    public ulong ProtocolFeatures(ulong offered) => offered;

    public ulong ProtocolFeaturesKept(ulong accepted) => accepted;

    public int PairsAccepted(int servedPairs) => servedPairs;

    // Answers in queue pairs, the unit QEMU's net front-end compares it with.
    public ulong QueueNum(int servedPairs) => (ulong)servedPairs;

    public uint SetVringBase(uint value, int ringSize, RingFormat format) =>
        format == RingFormat.Packed ? PackedBase(value, ringSize)
        // A split ring index runs free to 65535 whatever the ring size; only a value that is no 16-bit index is refused.
        : value <= ushort.MaxValue ? value
        : throw new VhostUserProtocolException($"SET_VRING_BASE {value} does not fit a 16-bit split-ring index");

    // Packed: the next available position and driver wrap counter in the low half, the next used position and device
    // wrap counter in the high half (vu.packed.set-base.both).
    private static uint PackedBase(uint value, int ringSize)
    {
        var b = PackedVringBase.Decode(value);
        // Older front-ends send the avail half alone, the high half left 0. A used half of 0 (slot 0, wrap counter 0)
        // under a non-zero avail half is read as that: used = avail, which is what a stopped ring with nothing in flight
        // has. (A ring stopped with buffers in flight, its used side at 0/0 and its avail side ahead in the same lap,
        // would send the same value; this back-end returns every buffer before it stops, so it never has one.)
        if (value >> 16 == 0 && (ushort)value != 0) b = b with { Used = b.Avail };
        if (ringSize > 0 && (b.Avail.Offset >= ringSize || b.Used.Offset >= ringSize))
            throw new VhostUserProtocolException($"SET_VRING_BASE 0x{value:x8} ({b}) names a slot outside the {ringSize}-entry packed ring");
        return b.Encode();
    }

    // "Stop ring": the ring stops, and the reply is its base (split: the next available index; packed: both positions), where a resume must pick up.
    public VringBaseReply GetVringBase(IStoppableRing ring) => new(ring.Stop());

    // A kick starts the ring at the base the front-end last set (the "Ring states" rule).
    public uint ResumeAt(uint @base) => @base;

    // With VHOST_USER_F_PROTOCOL_FEATURES rings start disabled; without it SET_FEATURES enables them all.
    public IEnumerable<int> InitiallyEnabled(int servedPairs) => [];

    // The index is a ring index, one ring each.
    public IEnumerable<int> RingsSwitched(int index, int servedPairs) => [index];
}
