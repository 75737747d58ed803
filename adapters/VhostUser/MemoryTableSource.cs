using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Adapters.VhostUser;

/// <summary>
/// Guest RAM as the front-end shares it: one memfd region at <see cref="GuestBase"/>, announced with
/// SET_MEM_TABLE. Descriptors carry guest-physical addresses; ring addresses go out as this process's own
/// virtual addresses (vhost-user "user addresses"), which is what the back-end translates.
/// </summary>
public sealed class MemoryTableSource(SharedMemoryRegion ram, ulong guestBase)
{
    public ulong GuestBase { get; } = guestBase;

    public MemoryRegion Region => new(GuestBase, (ulong)ram.Size, (ulong)ram.Address, 0);

    public ulong ToUser(ulong guestAddress)
    {
        if (guestAddress < GuestBase || guestAddress - GuestBase >= (ulong)ram.Size)
            throw new ArgumentOutOfRangeException(nameof(guestAddress), $"0x{guestAddress:x} is outside guest RAM");
        return (ulong)ram.Address + (guestAddress - GuestBase);
    }

    /// <summary>Sends the table with the memfd (the channel sends a copy of the fd; ours stays open).</summary>
    public void Send(VhostUserConnection connection) =>
        connection.Send(VhostUserRequest.SetMemTable, MemoryTable.Encode([Region]), [ram.Fd]);
}
