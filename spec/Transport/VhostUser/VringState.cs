using System.Buffers.Binary;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// "Vring state description": u32 index, u32 num. Used by SET_VRING_NUM/BASE/ENABLE and GET_VRING_BASE (both
/// ways). For a split ring's base, num's low 16 bits are the next avail index.
/// </summary>
public readonly record struct VringState(uint Index, uint Num)
{
    public const int Size = 8;

    public byte[] Encode()
    {
        var bytes = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), Num);
        return bytes;
    }

    public static VringState Decode(ReadOnlySpan<byte> payload, VhostUserRequest request)
    {
        PayloadSize.Expect(request, payload.Length, Size);
        return new VringState(BinaryPrimitives.ReadUInt32LittleEndian(payload), BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]));
    }
}
