namespace VirtioMq.Adapters.Driver;

/// <summary>
/// A frame taken from receiveq <see cref="Pair"/>: the virtio-net header and the Ethernet frame after it, as far as
/// the used length reaches; <see cref="Contents"/> is the whole buffer, for frames the used length cuts short.
/// </summary>
public sealed record ReceivedFrame(int Pair, byte[] Header, byte[] Frame, uint UsedLength)
{
    public byte[] Contents { get; init; } = [.. Header, .. Frame];

    /// <summary>The flags of the used descriptor on a packed ring (§2.8.3: WRITE says data was written); null on a split ring.</summary>
    public ushort? UsedFlags { get; init; }

    /// <summary>Returned inside an in-order batch: <see cref="UsedLength"/> is the buffer's size, not a length the device wrote.</summary>
    public bool InOrderSkipped { get; init; }
}
