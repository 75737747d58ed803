using VirtioMq.Spec.Platform;

namespace VirtioMq.Spec.Memory;

/// <summary>
/// A MAP_SHARED mapping of a memfd. The driver creates one as guest RAM; the device maps the same fd a second
/// time on its own, exactly as a vhost-user back-end maps SET_MEM_TABLE regions, so the two sides share
/// memory and nothing else.
/// </summary>
public sealed unsafe class SharedMemoryRegion : IDisposable
{
    private nint _base;

    private SharedMemoryRegion(int fd, long size, nint @base)
    {
        Fd = fd;
        Size = size;
        _base = @base;
    }

    /// <summary>The fd this mapping owns (closed on dispose); hand a dup of it to another mapper.</summary>
    public int Fd { get; }
    public long Size { get; }

    /// <summary>Where the mapping starts in this process: the "user address" a vhost-user front-end announces.</summary>
    public nint Address => _base;

    public static SharedMemoryRegion CreateMemfd(string name, long size)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "a memory region needs at least one byte");
        var fd = Libc.Check(Libc.MemfdCreate(name, Libc.MfdCloexec), "memfd_create");
        try
        {
            Libc.Check(Libc.Ftruncate(fd, size), "ftruncate");
            return new SharedMemoryRegion(fd, size, MapOrThrow(fd, size, 0));
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    /// <summary>Maps <paramref name="size"/> bytes of someone else's fd from <paramref name="offset"/>. Takes ownership of the fd.</summary>
    public static SharedMemoryRegion MapFd(int fd, long size, long offset = 0)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "a memory region needs at least one byte");
        return new SharedMemoryRegion(fd, size, MapOrThrow(fd, size, offset));
    }

    /// <summary>A view of [offset, offset+length); throws rather than reach outside the mapping.</summary>
    public Span<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_base == 0, this);
        if (offset < 0 || length < 0 || offset > Size - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Size}-byte region");
        return new Span<byte>((byte*)_base + offset, length);
    }

    public void Dispose()
    {
        if (_base == 0) return;
        Libc.Munmap(_base, (nuint)Size);
        Libc.Close(Fd);
        _base = 0;
    }

    private static nint MapOrThrow(int fd, long size, long offset)
    {
        var p = Libc.Mmap(0, (nuint)size, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, fd, offset);
        if (p == Libc.MapFailed) Libc.Check(-1, $"mmap of {size} bytes at offset {offset}");
        return p;
    }
}
