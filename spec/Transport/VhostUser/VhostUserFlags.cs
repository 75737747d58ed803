namespace VirtioMq.Spec.VhostUser;

/// <summary>The header's flags word: a 2-bit version (always 1) plus the reply and need_reply bits.</summary>
[Flags]
public enum VhostUserFlags : uint
{
    None = 0,
    Version1 = 1,
    VersionMask = 3,
    /// <summary>Set on every back-end reply.</summary>
    Reply = 4,
    /// <summary>Front-end asks for an ack; only honoured once REPLY_ACK is negotiated.</summary>
    NeedReply = 8,
}
