using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Reference.Net;

/// <summary>Which hash a received frame gets, and which receiveq RSS gives it.</summary>
public interface IPacketHashing
{
    /// <summary>The hash of <paramref name="frame"/> (an Ethernet frame) under the enabled types and key (§5.1.9.4.3).</summary>
    HashOutcome Hash(ReadOnlySpan<byte> frame, NetHashTypes enabled, byte[] key);

    /// <summary>The receive pair (1-based) RSS puts a frame with <paramref name="outcome"/> on (§5.1.9.5.7.3).</summary>
    int Select(RssConfig config, HashOutcome outcome);
}

/// <summary>The hash of §5.1.9.4.3 and the queue selection of §5.1.9.5.7.3, as the spec writes them.</summary>
public sealed class PacketHashing : IPacketHashing
{
    public static PacketHashing Instance { get; } = new();

    public HashOutcome Hash(ReadOnlySpan<byte> frame, NetHashTypes enabled, byte[] key) =>
        enabled == NetHashTypes.None ? HashOutcome.NotHashed : PacketHash.PlainReading(frame, enabled, key);

    public int Select(RssConfig config, HashOutcome outcome) => config.PairFor(outcome);
}
