using VirtioMq.Spec.Memory;
using VirtioMq.Spec.Platform;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// The front-end's memory as SET_MEM_TABLE describes it: each region is mapped from the fd that came with
/// the message, reachable by guest-physical address (descriptors) and by front-end user address (ring
/// addresses in SET_VRING_ADDR). A table that does not hold together is refused whole.
/// </summary>
public sealed class BackendMemory : IDisposable
{
    private readonly List<(MemoryRegion Description, SharedMemoryRegion Mapping)> _regions = [];

    /// <summary>Guest-physical view for the rings; replaced, not changed, when a new table arrives.</summary>
    public GuestMemory Guest { get; private set; } = new();

    public int RegionCount => _regions.Count;

    /// <summary>
    /// Maps the new table, taking ownership of <paramref name="fds"/>. On any problem nothing of the new
    /// table is kept, every fd is closed, and the previous table stays in force.
    /// </summary>
    public void Replace(IReadOnlyList<MemoryRegion> table, IReadOnlyList<int> fds)
    {
        var mapped = new List<(MemoryRegion, SharedMemoryRegion)>();
        var guest = new GuestMemory();
        var owned = fds.ToList();
        try
        {
            if (fds.Count != table.Count)
                throw new VhostUserProtocolException($"SET_MEM_TABLE describes {table.Count} region(s) but carries {fds.Count} fd(s)");
            for (var i = 0; i < table.Count; i++)
            {
                var r = table[i];
                Validate(r, i, table);
                long fileSize;
                try
                {
                    fileSize = Libc.FileSize(owned[i]);
                }
                catch (IOException e)
                {
                    throw new VhostUserProtocolException($"region {i}: its fd cannot be mapped ({e.Message})");
                }
                // Mapping past the end of the file would turn a later access into SIGBUS, so refuse it here.
                if (r.MmapOffset > (ulong)fileSize || r.Size > (ulong)fileSize - r.MmapOffset)
                    throw new VhostUserProtocolException($"region {i}: offset 0x{r.MmapOffset:x} + size 0x{r.Size:x} reaches past the end of its {fileSize}-byte file");
                var mapping = SharedMemoryRegion.MapFd(owned[i], (long)r.Size, (long)r.MmapOffset);
                owned[i] = -1;
                mapped.Add((r, mapping));
                guest.AddRegion(r.GuestAddress, mapping);
            }
        }
        catch (Exception e) when (e is VhostUserProtocolException or IOException or ArgumentException)
        {
            foreach (var (_, m) in mapped) m.Dispose();
            foreach (var fd in owned) if (fd >= 0) Libc.Close(fd);
            throw e as VhostUserProtocolException ?? new VhostUserProtocolException($"SET_MEM_TABLE refused: {e.Message}");
        }
        Release();
        _regions.AddRange(mapped);
        Guest = guest;
    }

    /// <summary>Turns a front-end user address (SET_VRING_ADDR) into the guest-physical address of the same byte.</summary>
    public ulong UserToGuest(ulong userAddress, string what)
    {
        foreach (var (r, _) in _regions)
            if (userAddress >= r.UserAddress && userAddress - r.UserAddress < r.Size)
                return r.GuestAddress + (userAddress - r.UserAddress);
        throw new VhostUserProtocolException($"{what} user address 0x{userAddress:x} is in no region of the memory table");
    }

    /// <summary>Whether the <paramref name="length"/> bytes from front-end user address <paramref name="userAddress"/> lie whole inside one region.</summary>
    public bool HoldsWhole(ulong userAddress, ulong length)
    {
        foreach (var (r, _) in _regions)
            if (userAddress >= r.UserAddress && userAddress - r.UserAddress <= r.Size && length <= r.Size - (userAddress - r.UserAddress))
                return true;
        return false;
    }

    public void Dispose() => Release();

    private void Release()
    {
        foreach (var (_, m) in _regions) m.Dispose();
        _regions.Clear();
        Guest = new GuestMemory();
    }

    private static void Validate(MemoryRegion r, int i, IReadOnlyList<MemoryRegion> table)
    {
        if (r.Size == 0) throw new VhostUserProtocolException($"region {i} has size 0");
        // mmap would refuse it with a bare EINVAL; saying so here names the actual problem.
        if (r.MmapOffset % (ulong)Environment.SystemPageSize != 0)
            throw new VhostUserProtocolException($"region {i}: mmap offset 0x{r.MmapOffset:x} is not a multiple of the {Environment.SystemPageSize}-byte page size");
        if (r.Size > long.MaxValue || r.GuestAddress + r.Size < r.GuestAddress || r.UserAddress + r.Size < r.UserAddress)
            throw new VhostUserProtocolException($"region {i} (size 0x{r.Size:x}) wraps the address space");
        for (var j = 0; j < i; j++)
        {
            var o = table[j];
            if (r.GuestAddress < o.GuestAddress + o.Size && o.GuestAddress < r.GuestAddress + r.Size)
                throw new VhostUserProtocolException($"regions {j} and {i} overlap in guest-physical space");
            if (r.UserAddress < o.UserAddress + o.Size && o.UserAddress < r.UserAddress + r.Size)
                throw new VhostUserProtocolException($"regions {j} and {i} overlap in user address space");
        }
    }
}
