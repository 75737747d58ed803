using System.Buffers.Binary;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Reference.Net;

/// <summary>How a frame is written into a receive buffer and reported used.</summary>
public interface IReceiveRules
{
    /// <summary>Writes the virtio-net header in front of a received frame.</summary>
    void WriteHeader(Span<byte> header);

    /// <summary>Fills hash_value and hash_report of a 20-byte header (HASH_REPORT negotiated, §5.1.9.4.5).</summary>
    void WriteHash(Span<byte> header, HashOutcome outcome);

    /// <summary>The used length for a buffer the device wrote <paramref name="written"/> bytes into.</summary>
    uint UsedLength(int written);

    /// <summary>Into how many receive buffers one frame goes.</summary>
    int Copies { get; }
}

/// <summary>The receive path of §5.1.6.4: one buffer per frame, with a header and the used length counting it.</summary>
public sealed class ReceiveRules : IReceiveRules
{
    public static ReceiveRules Instance { get; } = new();

    // flags 0, gso NONE, num_buffers 1: no offloads and no mergeable buffers are negotiated (§5.1.9.4.1).
    public void WriteHeader(Span<byte> header)
    {
        header.Clear();
        header[NumBuffersOffset] = 1;
    }

    // NONE when no hash was computed, and then no value either (§5.1.9.4.5); padding_reserved stays 0.
    public void WriteHash(Span<byte> header, HashOutcome outcome)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header[NetHeader.HashValueOffset..], outcome.Hashed ? outcome.Value : 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header[NetHeader.HashReportOffset..], (ushort)outcome.Report);
        BinaryPrimitives.WriteUInt16LittleEndian(header[(NetHeader.HashReportOffset + 2)..], 0);
    }

    // §2.7.8.2: the used length is every byte written, the header included.
    public uint UsedLength(int written) => (uint)written;

    // A frame is received once (net.tx.def.sent-once).
    public int Copies => 1;

    /// <summary>Where num_buffers sits in struct virtio_net_hdr.</summary>
    public const int NumBuffersOffset = 10;
}
