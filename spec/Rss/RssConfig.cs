using System.Buffers.Binary;

namespace VirtioMq.Spec.Rss;

/// <summary>
/// The command-specific data of VIRTIO_NET_CTRL_MQ_RSS_CONFIG (§5.1.9.5.7.1): enabled hash types, the indirection table
/// (its mask is its length - 1), the queue for packets no hash was computed for, the transmitqs the driver may use and
/// the Toeplitz key. Queues are receive queue ids: bits 1-16 of the virtqueue index, so id k is receiveq k+1.
/// </summary>
public sealed record RssConfig(NetHashTypes HashTypes, ushort UnclassifiedQueue, IReadOnlyList<ushort> IndirectionTable, ushort MaxTxVq, byte[] Key)
{
    /// <summary>indirection_table_mask as the driver writes it: the table length less one.</summary>
    public ushort IndirectionTableMask => (ushort)(IndirectionTable.Count - 1);

    /// <summary>
    /// Overrides the mask written, for commands whose mask and table length disagree on purpose (a length that is no
    /// power of two is sent as mask = length - 1, which is what an invalid mask looks like).
    /// </summary>
    public ushort? MaskOverride { get; init; }

    public byte[] Encode()
    {
        var table = IndirectionTable;
        var b = new byte[4 + 2 + 2 + 2 * table.Count + 2 + 1 + Key.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)HashTypes);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), MaskOverride ?? IndirectionTableMask);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), UnclassifiedQueue);
        for (var i = 0; i < table.Count; i++) BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8 + 2 * i), table[i]);
        var at = 8 + 2 * table.Count;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), MaxTxVq);
        b[at + 2] = (byte)Key.Length;
        Key.CopyTo(b, at + 3);
        return b;
    }

    /// <summary>
    /// Reads the structure; null with <paramref name="problem"/> when the bytes cannot hold it (shorter than the mask
    /// and key length say). Field values are not judged here: see <see cref="RssLimits.Problems(RssConfig)"/>.
    /// </summary>
    public static RssConfig? Decode(ReadOnlySpan<byte> data, out string? problem)
    {
        problem = null;
        if (data.Length < 8)
        {
            problem = $"{data.Length} bytes cannot hold hash_types, indirection_table_mask and unclassified_queue";
            return null;
        }
        var mask = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
        var entries = mask + 1;
        var at = 8 + 2 * entries;
        if (data.Length < at + 3)
        {
            problem = $"indirection_table_mask {mask} asks for {entries} entries, but the {data.Length}-byte command ends before max_tx_vq and hash_key_length";
            return null;
        }
        var keyLength = data[at + 2];
        if (data.Length < at + 3 + keyLength)
        {
            problem = $"hash_key_length {keyLength}, but only {data.Length - at - 3} key bytes follow";
            return null;
        }
        var table = new ushort[entries];
        for (var i = 0; i < entries; i++) table[i] = BinaryPrimitives.ReadUInt16LittleEndian(data[(8 + 2 * i)..]);
        return new RssConfig((NetHashTypes)BinaryPrimitives.ReadUInt32LittleEndian(data), BinaryPrimitives.ReadUInt16LittleEndian(data[6..]),
            table, BinaryPrimitives.ReadUInt16LittleEndian(data[at..]), data.Slice(at + 3, keyLength).ToArray());
    }

    /// <summary>The receive pair (1-based) for a packet with this hash outcome (§5.1.9.5.7.3).</summary>
    public int PairFor(HashOutcome outcome) =>
        1 + (outcome.Hashed ? IndirectionTable[(int)(outcome.Value & IndirectionTableMask)] : UnclassifiedQueue);

    public override string ToString() =>
        $"hash_types={HashTypes} table[{IndirectionTable.Count}]={Summarise(IndirectionTable)} unclassified={UnclassifiedQueue} max_tx_vq={MaxTxVq} key[{Key.Length}]={Convert.ToHexString(Key)}";

    private static string Summarise(IReadOnlyList<ushort> t) =>
        t.Count <= 16 ? string.Join(",", t) : string.Join(",", t.Take(16)) + ",…";
}

/// <summary>
/// The command-specific data of VIRTIO_NET_CTRL_MQ_HASH_CONFIG (§5.1.9.5.6.4): the hash types and key for hash
/// reporting without RSS; the four reserved le16 keep its layout that of RSS_CONFIG.
/// </summary>
public sealed record HashConfig(NetHashTypes HashTypes, byte[] Key, ushort ReservedWord = 0)
{
    public byte[] Encode()
    {
        var b = new byte[4 + 8 + 1 + Key.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)HashTypes);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), ReservedWord);
        b[12] = (byte)Key.Length;
        Key.CopyTo(b, 13);
        return b;
    }

    public static HashConfig? Decode(ReadOnlySpan<byte> data, out string? problem)
    {
        problem = null;
        if (data.Length < 13 || data.Length < 13 + data[12])
        {
            problem = data.Length < 13 ? $"{data.Length} bytes cannot hold hash_types, reserved and hash_key_length" : $"hash_key_length {data[12]}, but only {data.Length - 13} key bytes follow";
            return null;
        }
        var reserved = data[4..12];
        ushort firstNonZero = 0;
        for (var i = 0; i < 4; i++)
            if (BinaryPrimitives.ReadUInt16LittleEndian(reserved[(2 * i)..]) is var w and not 0 && firstNonZero == 0) firstNonZero = w;
        return new HashConfig((NetHashTypes)BinaryPrimitives.ReadUInt32LittleEndian(data), data.Slice(13, data[12]).ToArray(), firstNonZero);
    }

    public override string ToString() => $"hash_types={HashTypes} key[{Key.Length}]={Convert.ToHexString(Key)}{(ReservedWord != 0 ? $" reserved=0x{ReservedWord:x4}" : "")}";
}
