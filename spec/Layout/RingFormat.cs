namespace VirtioMq.Spec;

/// <summary>The two virtqueue formats: split (§2.7) and, with VIRTIO_F_RING_PACKED, packed (§2.8).</summary>
public enum RingFormat
{
    Split,
    Packed,
}

/// <summary>A place in a packed ring: a descriptor offset below 2^15 and the wrap counter of the lap it belongs to.</summary>
public readonly record struct PackedPosition(ushort Offset, bool Wrap)
{
    /// <summary>Where both wrap counters start after a reset: offset 0, wrap counter 1 (§2.8.1).</summary>
    public static PackedPosition Start { get; } = new(0, true);

    /// <summary>The position <paramref name="count"/> descriptors further on in a ring of <paramref name="size"/>, flipping the wrap counter at each lap.</summary>
    public PackedPosition Advance(int count, int size)
    {
        var offset = Offset + count;
        var wrap = Wrap;
        while (offset >= size)
        {
            offset -= size;
            wrap = !wrap;
        }
        return new PackedPosition((ushort)offset, wrap);
    }

    /// <summary>The 16-bit form the packed ring uses in desc_event_off_wrap and vhost-user's ring base: offset in bits 0-14, wrap in bit 15.</summary>
    public ushort Encode() => PackedRing.OffWrap(Offset, Wrap);

    public static PackedPosition Decode(ushort value) => new((ushort)(value & 0x7fff), (value & PackedRing.OffWrapWrapBit) != 0);

    public override string ToString() => $"{Offset}/wrap {(Wrap ? 1 : 0)}";
}
