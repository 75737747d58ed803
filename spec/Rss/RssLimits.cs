namespace VirtioMq.Spec.Rss;

/// <summary>
/// What a device's configuration space says about its hashing (§5.1.4): rss_max_key_size, rss_max_indirection_table_length,
/// supported_hash_types, with max_virtqueue_pairs. The driver rules of §5.1.9.5.7.2 are written against these.
/// </summary>
public sealed record RssLimits(int MaxKeySize, int MaxIndirectionTableLength, NetHashTypes SupportedHashTypes, int MaxPairs)
{
    /// <summary>
    /// Why <paramref name="config"/> is a command no driver may send (each with the driver rule it breaks), empty for a
    /// valid one. A device may refuse such a command; the reference does, with ERR, and keeps its previous configuration.
    /// </summary>
    public IReadOnlyList<(string Rule, string Why)> Problems(RssConfig config)
    {
        var p = new List<(string, string)>();
        var length = config.IndirectionTable.Count;
        var mask = config.MaskOverride ?? config.IndirectionTableMask;
        if (mask + 1 != length || !IsPowerOfTwo(length))
            p.Add((Rule.NetRssDrvPow2, $"indirection_table_mask {mask}: {mask + 1} entries is not a power of two"));
        if (mask >= MaxIndirectionTableLength)
            p.Add((Rule.NetRssDrvTableLen, $"indirection_table_mask {mask} is not below rss_max_indirection_table_length {MaxIndirectionTableLength}"));
        if ((config.HashTypes & ~SupportedHashTypes) != 0)
            p.Add((Rule.NetRssDrvHashTypesSupported, $"hash_types 0x{(uint)config.HashTypes:x} has bits 0x{(uint)(config.HashTypes & ~SupportedHashTypes):x} that supported_hash_types 0x{(uint)SupportedHashTypes:x} lacks"));
        if (config.MaxTxVq is 0 || config.MaxTxVq > MaxPairs)
            p.Add((Rule.NetRssDefFields, $"max_tx_vq {config.MaxTxVq} is not one of the 1..{MaxPairs} transmitqs the device has"));
        // The queues a driver may name are the ones it enabled: receiveq1..max_tx_vq (what RSS_CONFIG puts in use, as
        // VQ_PAIRS_SET does). Bit 15 of an rss_rq_id is reserved (1.3+).
        var pairs = Math.Min(Math.Max((int)config.MaxTxVq, 1), MaxPairs);
        var bad = config.IndirectionTable.Select((q, i) => (q, i)).FirstOrDefault(e => e.q >= pairs);
        if (config.IndirectionTable.Any(q => q >= pairs))
            p.Add((Rule.NetRssDrvEnabledQueuesOnly, $"indirection_table[{bad.i}] = {bad.q} (receiveq{bad.q + 1}), but only receiveq1..{pairs} are enabled"));
        if (config.UnclassifiedQueue >= pairs)
            p.Add((Rule.NetRssDrvEnabledQueuesOnly, $"unclassified_queue {config.UnclassifiedQueue} (receiveq{config.UnclassifiedQueue + 1}), but only receiveq1..{pairs} are enabled"));
        if (config.Key.Length > MaxKeySize)
            p.Add((Rule.NetCfgDefHashTypes, $"hash_key_length {config.Key.Length} is above rss_max_key_size {MaxKeySize}"));
        return p;
    }

    /// <summary>The same for HASH_CONFIG (§5.1.9.5.6.4): supported types, reserved zero, a key the device can hold.</summary>
    public IReadOnlyList<(string Rule, string Why)> Problems(HashConfig config)
    {
        var p = new List<(string, string)>();
        if ((config.HashTypes & ~SupportedHashTypes) != 0)
            p.Add((Rule.NetRssDrvHashTypesSupported, $"hash_types 0x{(uint)config.HashTypes:x} has bits that supported_hash_types 0x{(uint)SupportedHashTypes:x} lacks"));
        if (config.ReservedWord != 0)
            p.Add((Rule.NetHashDrvReservedZero, $"reserved holds 0x{config.ReservedWord:x4}"));
        if (config.Key.Length > MaxKeySize)
            p.Add((Rule.NetCfgDefHashTypes, $"hash_key_length {config.Key.Length} is above rss_max_key_size {MaxKeySize}"));
        return p;
    }

    private static bool IsPowerOfTwo(int n) => n > 0 && (n & (n - 1)) == 0;
}
