using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.VhostUser.FrontEnd;

/// <summary>
/// One controlq chain the front-end took: the bytes the driver wrote (class, command, data; at most what the
/// front-end reads of a command) and the device-writable buffers the ack goes to.
/// </summary>
/// <param name="head">The split ring's head descriptor index, or the packed ring's Buffer ID.</param>
/// <param name="ringSlots">Descriptor ring slots the chain took: a packed ring's used position skips them all.</param>
internal sealed class ControlRequest(ushort head, byte[] command, IReadOnlyList<(ulong Address, uint Length)> writable, int ringSlots = 1)
{
    /// <summary>The split ring's head descriptor index, or the packed ring's Buffer ID (the id of the chain's last descriptor).</summary>
    public ushort Head { get; } = head;

    /// <summary>Descriptor ring slots the chain took (an indirect table counts as the one slot that points at it).</summary>
    public int RingSlots { get; } = ringSlots;

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
