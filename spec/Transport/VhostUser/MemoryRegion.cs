using System.Buffers.Binary;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// One memory region description (32 bytes): guest physical address, size, the front-end's user address of the
/// same memory, and the offset into the fd at which the region starts.
/// </summary>
public readonly record struct MemoryRegion(ulong GuestAddress, ulong Size, ulong UserAddress, ulong MmapOffset)
{
    public const int EncodedSize = 32;

    /// <summary>ADD_MEM_REG/REM_MEM_REG wrap one region after 8 bytes of padding.</summary>
    public const int SingleRegionPayloadSize = 8 + EncodedSize;

    public void Encode(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, GuestAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Size);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], UserAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], MmapOffset);
    }

    public static MemoryRegion Decode(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(source),
        BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[24..]));

    /// <summary>The ADD_MEM_REG/REM_MEM_REG payload for this region.</summary>
    public byte[] EncodeSingle()
    {
        var bytes = new byte[SingleRegionPayloadSize];
        Encode(bytes.AsSpan(8));
        return bytes;
    }

    // The padding's value is unspecified, so it is not checked: rejecting it would fail front-ends the spec allows.
    public static MemoryRegion DecodeSingle(ReadOnlySpan<byte> payload, VhostUserRequest request)
    {
        PayloadSize.Expect(request, payload.Length, SingleRegionPayloadSize);
        return Decode(payload[8..]);
    }
}
