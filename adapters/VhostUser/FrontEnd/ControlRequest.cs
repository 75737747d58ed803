using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.VhostUser.FrontEnd;

/// <summary>
/// One controlq chain the front-end took: the bytes the driver wrote (class, command, data; at most what the
/// front-end reads of a command) and the device-writable buffers the ack goes to.
/// </summary>
internal sealed class ControlRequest(ushort head, byte[] command, IReadOnlyList<(ulong Address, uint Length)> writable)
{
    public ushort Head { get; } = head;
    public byte[] Command { get; } = command;
    public bool HasAckBuffer => writable.Any(w => w.Length > 0);

    /// <summary>Writes the one-byte ack into the first writable byte; returns how many bytes were written (0 or 1).</summary>
    public uint WriteAck(GuestMemory memory, byte ack)
    {
        foreach (var (address, length) in writable)
        {
            if (length == 0) continue;
            memory.Span(address, 1)[0] = ack;
            return 1;
        }
        return 0;
    }
}
