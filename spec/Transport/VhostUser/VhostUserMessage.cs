using VirtioMq.Spec.Platform;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// One vhost-user message: header fields, payload bytes and the fds that travelled with it as SCM_RIGHTS.
/// The record does not own the fds; whoever received the message decides which to keep (wrap, map) and which to
/// close, e.g. with <see cref="CloseFds"/> on an error path.
/// </summary>
public sealed record VhostUserMessage(VhostUserRequest Request, VhostUserFlags Flags, byte[] Payload, int[] Fds)
{
    public const int HeaderSize = 12;

    /// <summary>
    /// The largest payload accepted. The biggest fixed payloads (SET_MEM_TABLE with 8 regions, 264 bytes; GET_CONFIG
    /// with a config space) are far below it, so a larger size means a desynchronised or hostile peer.
    /// </summary>
    public const int MaxPayloadSize = 4096;

    /// <summary>SET_MEM_TABLE's 8 regions are the most fds any request carries.</summary>
    public const int MaxFds = 8;

    /// <summary>A front-end request: version 1, plus need_reply when an ack is wanted (REPLY_ACK).</summary>
    public static VhostUserMessage NewRequest(VhostUserRequest request, byte[]? payload = null, int[]? fds = null, bool needReply = false) =>
        new(request, VhostUserFlags.Version1 | (needReply ? VhostUserFlags.NeedReply : VhostUserFlags.None), payload ?? [], fds ?? []);

    /// <summary>The back-end's answer to this message: same request id, version 1 with the reply bit.</summary>
    public VhostUserMessage ReplyWith(byte[] payload, int[]? fds = null) =>
        new(Request, VhostUserFlags.Version1 | VhostUserFlags.Reply, payload, fds ?? []);

    public bool IsReply => (Flags & VhostUserFlags.Reply) != 0;

    public bool NeedsReply => (Flags & VhostUserFlags.NeedReply) != 0;

    public int Version => (int)(Flags & VhostUserFlags.VersionMask);

    public VhostUserHeader Header => new(Request, Flags, (uint)Payload.Length);

    /// <summary>Header and payload as they go on the wire (the fds go alongside, not in these bytes).</summary>
    public byte[] Encode()
    {
        var bytes = new byte[HeaderSize + Payload.Length];
        Header.Encode(bytes);
        Payload.CopyTo(bytes, HeaderSize);
        return bytes;
    }

    /// <summary>Closes every fd carried by this message; for receivers that reject it.</summary>
    public void CloseFds()
    {
        foreach (var fd in Fds) Libc.Close(fd);
    }

    public override string ToString() =>
        $"{Request.WireName()} flags={Flags} (0x{(uint)Flags:x}) size={Payload.Length} fds={Fds.Length}";
}
