using System.Buffers.Binary;

namespace VirtioMq.Spec;

/// <summary>
/// The oracle for one frame the device delivered, set against the frame the driver sent: was it delivered whole, and
/// does the used length count what the device wrote (<see cref="Judge"/>, on every frame); does the virtio-net header
/// say what the negotiated features allow (<see cref="JudgeHeader"/>). Each kind of damage has its own rule, so a
/// short used length is never reported as a lost frame.
/// </summary>
public static class FrameJudgement
{
    // VIRTIO_NET_F_GUEST_TSO4, GUEST_TSO6, GUEST_ECN, GUEST_UFO (§5.1.3): without one of them no receive GSO type is allowed.
    private static readonly int[] GuestGsoBits = [7, 8, 9, 10];

    /// <param name="contents">The whole receive buffer (zeroed when posted), header first.</param>
    /// <param name="usedLength">The len the device put in the used ring for it.</param>
    /// <param name="sent">The Ethernet frame the driver sent, without its header.</param>
    /// <param name="headerSize">The virtio-net header size negotiated (§5.1.9).</param>
    public static Violation? Judge(ReadOnlySpan<byte> contents, uint usedLength, ReadOnlySpan<byte> sent, int rxPair, int headerSize = SplitRing.NetHeaderSize)
    {
        var hdr = headerSize;
        var where = $"receiveq{rxPair}";
        var frame = contents.Length >= hdr ? contents[hdr..] : [];
        if (frame.Length < sent.Length || !frame[..sent.Length].SequenceEqual(sent))
        {
            var at = FirstDifference(frame, sent);
            return new Violation(Rule.NetTxDefSent,
                $"frame altered: the {sent.Length}-byte frame came back on {where} with its bytes differing from offset {at} " +
                $"(sent 0x{Byte(sent, at)}, received 0x{Byte(frame, at)}; used len {usedLength})");
        }
        if (usedLength < hdr + sent.Length)
            return new Violation(Rule.RingUsedDevWriteLenBytes,
                $"used len {usedLength} on {where}, but the device wrote the {hdr}-byte header and the {sent.Length}-byte frame, {hdr + sent.Length} bytes " +
                (usedLength == sent.Length ? "(the header was left out of the count)" : ""));
        return null;
    }

    /// <summary>
    /// The virtio-net header of a frame delivered in one buffer, against what the negotiated features allow. Judged by
    /// the checks about the receive header, not on every frame: a device whose header is wrong should not have every
    /// other rule hidden behind that one finding.
    /// </summary>
    public static Violation? JudgeHeader(ReadOnlySpan<byte> contents, FeatureSet negotiated, int rxPair)
    {
        var hdr = SplitRing.NetHeaderSize;
        var where = $"receiveq{rxPair}";
        var header = contents[..hdr];
        var numBuffers = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        if (numBuffers != 1)
            return negotiated.Has(FeatureBit.NetMrgRxbuf)
                ? new Violation(Rule.NetRxDevNumBuffersCount, $"num_buffers {numBuffers} on {where}, but the frame fits one buffer and used one")
                : new Violation(Rule.NetRxDevNumBuffers1, $"num_buffers {numBuffers} on {where} without VIRTIO_NET_F_MRG_RXBUF; it must be 1");
        if (header[0] != 0 && !negotiated.Has(FeatureBit.NetGuestCsum))
            return new Violation(Rule.NetRxDevFlagsNoGuestCsum, $"header flags 0x{header[0]:x2} on {where} without VIRTIO_NET_F_GUEST_CSUM; they must be 0");
        if (header[1] != 0 && !GuestGsoBits.Any(b => negotiated.Has((FeatureBit)b)))
            return new Violation(Rule.NetRxDevGsoTypes, $"gso_type {header[1]} on {where}, but no receive segmentation offload was negotiated");
        return null;
    }

    private static int FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
            if (a[i] != b[i]) return i;
        return n;
    }

    private static string Byte(ReadOnlySpan<byte> s, int at) => at < s.Length ? s[at].ToString("x2", System.Globalization.CultureInfo.InvariantCulture) : "--";
}
