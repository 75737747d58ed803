using System.Buffers.Binary;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// Typed access to a message's payload. Every reader checks the exact size for that request and throws
/// <see cref="VhostUserProtocolException"/> naming the request; none of them touches the message's fds.
/// </summary>
public static class Payload
{
    public const int U64Size = 8;

    /// <summary>The u64 payload of features words, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS, status and reply-acks.</summary>
    public static byte[] U64(ulong value)
    {
        var bytes = new byte[U64Size];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes;
    }

    public static ulong ReadU64(VhostUserMessage message)
    {
        PayloadSize.Expect(message.Request, message.Payload.Length, U64Size);
        return BinaryPrimitives.ReadUInt64LittleEndian(message.Payload);
    }

    /// <summary>For requests defined with no payload (GET_FEATURES, SET_OWNER, GET_QUEUE_NUM, ...).</summary>
    public static void ReadEmpty(VhostUserMessage message) => PayloadSize.Expect(message.Request, message.Payload.Length, 0);

    public static VringState ReadVringState(VhostUserMessage message) => VringState.Decode(message.Payload, message.Request);

    public static VringAddress ReadVringAddress(VhostUserMessage message) => VringAddress.Decode(message.Payload, message.Request);

    public static MemoryRegion[] ReadMemoryTable(VhostUserMessage message) => MemoryTable.Decode(message.Payload, message.Request);

    public static MemoryRegion ReadSingleMemoryRegion(VhostUserMessage message) => MemoryRegion.DecodeSingle(message.Payload, message.Request);

    /// <summary>
    /// The vring fd payload, checked against the fds that came with it: exactly one fd unless bit 8 says none.
    /// On a mismatch the fds are left to the caller (to close).
    /// </summary>
    public static VringFd ReadVringFd(VhostUserMessage message)
    {
        var v = VringFd.Decode(message.Payload, message.Request);
        var expected = v.NoFd ? 0 : 1;
        if (message.Fds.Length != expected)
            throw new VhostUserProtocolException(message.Request,
                $"for vring {v.Index} {(v.NoFd ? "sets the no-fd bit" : "has no no-fd bit")} but carries {message.Fds.Length} fds, expected {expected}");
        return v;
    }
}
