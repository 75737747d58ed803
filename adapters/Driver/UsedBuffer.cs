namespace VirtioMq.Adapters.Driver;

/// <summary>A buffer the device returned: its token, the length it reported, and the bytes it wrote (at most that length).</summary>
public sealed record UsedBuffer(int Queue, ushort Head, uint Length, byte[] Written, object? Tag)
{
    /// <summary>Every writable byte of the buffer, whatever the used length says (zeroed when it was posted).</summary>
    public byte[] Contents { get; init; } = Written;

    /// <summary>The flags of the used descriptor on a packed ring; null on a split ring, whose used elements have none.</summary>
    public ushort? UsedFlags { get; init; }

    /// <summary>
    /// With VIRTIO_F_IN_ORDER, a buffer the device returned inside a batch, with no used entry of its own: the driver takes
    /// it as wholly used (§2.7.9, §2.8.8), so <see cref="Length"/> is its whole writable size, not a length the device wrote.
    /// </summary>
    public bool InOrderSkipped { get; init; }
}
