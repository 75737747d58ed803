using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>A ring as GET_VRING_BASE sees it.</summary>
public interface IStoppableRing
{
    /// <summary>Stops the ring and drops its kick fd; returns the next available index it would have taken, now its base.</summary>
    ushort Stop();

    /// <summary>The next available index the ring will take, without stopping it.</summary>
    ushort NextAvail { get; }

    /// <summary>Where the ring resumes when it is started again without a SET_VRING_BASE.</summary>
    ushort Base { set; }
}

/// <summary>The answer to GET_VRING_BASE: the index, and whether it is sent at all.</summary>
public readonly record struct VringBaseReply(ushort Next, bool Sent = true);

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

    /// <summary>The ring's base for SET_VRING_BASE(<paramref name="value"/>) on a ring of <paramref name="ringSize"/> entries; throws to refuse it.</summary>
    ushort SetVringBase(uint value, int ringSize);

    /// <summary>GET_VRING_BASE on <paramref name="ring"/>.</summary>
    VringBaseReply GetVringBase(IStoppableRing ring);

    /// <summary>Where a ring started by a kick takes its first buffer, given its <paramref name="base"/>.</summary>
    ushort ResumeAt(ushort @base);

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

    // A ring index runs free to 65535 whatever the ring size; only a value that is no 16-bit index is refused.
    public ushort SetVringBase(uint value, int ringSize) => value <= ushort.MaxValue ? (ushort)value
        : throw new VhostUserProtocolException($"SET_VRING_BASE {value} does not fit a 16-bit split-ring index");

    // "Stop ring": the ring stops, and the reply is the next available index, where a resume must pick up.
    public VringBaseReply GetVringBase(IStoppableRing ring) => new(ring.Stop());

    // A kick starts the ring at the base the front-end last set (the "Ring states" rule).
    public ushort ResumeAt(ushort @base) => @base;

    // With VHOST_USER_F_PROTOCOL_FEATURES rings start disabled; without it SET_FEATURES enables them all.
    public IEnumerable<int> InitiallyEnabled(int servedPairs) => [];

    // The index is a ring index, one ring each.
    public IEnumerable<int> RingsSwitched(int index, int servedPairs) => [index];
}
