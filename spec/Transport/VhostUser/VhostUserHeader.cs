using System.Buffers.Binary;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// The 12-byte header in front of every message: u32 request, u32 flags, u32 payload size. The spec says
/// "machine native byte order"; every platform this project runs on (x86_64, aarch64) is little endian, and
/// spelling that out keeps the encoding independent of BitConverter.
/// </summary>
public readonly record struct VhostUserHeader(VhostUserRequest Request, VhostUserFlags Flags, uint Size)
{
    public void Encode(Span<byte> destination)
    {
        if (destination.Length < VhostUserMessage.HeaderSize)
            throw new ArgumentException($"a header needs {VhostUserMessage.HeaderSize} bytes, got {destination.Length}", nameof(destination));
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)Request);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Size);
    }

    public static VhostUserHeader Decode(ReadOnlySpan<byte> source)
    {
        if (source.Length < VhostUserMessage.HeaderSize)
            throw new ArgumentException($"a header needs {VhostUserMessage.HeaderSize} bytes, got {source.Length}", nameof(source));
        return new VhostUserHeader(
            (VhostUserRequest)BinaryPrimitives.ReadUInt32LittleEndian(source),
            (VhostUserFlags)BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[8..]));
    }

    public int Version => (int)(Flags & VhostUserFlags.VersionMask);

    /// <summary>Why a receiver must refuse this header before reading a payload, or null if it is acceptable.</summary>
    public string? Problem =>
        Version != 1 ? $"header of {Request.WireName()} has version {Version} in its flags (0x{(uint)Flags:x}), expected 1"
        : Size > VhostUserMessage.MaxPayloadSize ? $"header of {Request.WireName()} announces a {Size}-byte payload, more than the {VhostUserMessage.MaxPayloadSize}-byte limit"
        : null;
}
