using System.Buffers.Binary;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// SET_VRING_KICK/CALL/ERR's u64: bits 0-7 the vring index, bit 8 "no fd" (poll the ring / no notification
/// instead). The 8-bit field is why these messages reach at most 256 vrings.
/// </summary>
public readonly record struct VringFd(byte Index, bool NoFd)
{
    public const int Size = 8;
    public const ulong IndexMask = 0xFF;
    public const ulong NoFdFlag = 0x100;

    public ulong Value => Index | (NoFd ? NoFdFlag : 0);

    public byte[] Encode() => Payload.U64(Value);

    /// <summary>Any bit above 8 is rejected: the spec defines none, and a set one most likely means a misread field.</summary>
    public static VringFd Decode(ReadOnlySpan<byte> payload, VhostUserRequest request)
    {
        PayloadSize.Expect(request, payload.Length, Size);
        var value = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        var unknown = value & ~(IndexMask | NoFdFlag);
        if (unknown != 0)
            throw new VhostUserProtocolException(request, $"payload 0x{value:x} sets undefined bits 0x{unknown:x} (only bits 0-8 are defined)");
        return new VringFd((byte)(value & IndexMask), (value & NoFdFlag) != 0);
    }
}
