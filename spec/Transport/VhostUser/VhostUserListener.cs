using VirtioMq.Spec.Platform;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// A listening vhost-user socket (the back-end side in the usual setup, or a front-end in "server" mode).
/// It owns its path: a socket file left behind by a dead process is replaced, and dispose removes the file.
/// </summary>
public sealed unsafe class VhostUserListener : IDisposable
{
    private readonly FdHandle _fd;

    public VhostUserListener(string socketPath, int backlog = 4)
    {
        // Check the length before touching the file system, so a bad path never costs someone their socket file.
        var address = Libc.UnixAddress(socketPath, out var length);
        RemoveStaleSocket(socketPath);
        var fd = Libc.Check(Libc.Socket(Libc.AfUnix, Libc.SockStream | Libc.SockCloexec | Libc.SockNonblock, 0), "socket");
        try
        {
            if (Libc.Bind(fd, &address, length) != 0) throw Libc.Error($"bind to '{socketPath}'", Libc.LastErrno);
            if (Libc.Listen(fd, backlog) != 0) throw Libc.Error($"listen on '{socketPath}'", Libc.LastErrno);
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
        _fd = new FdHandle(fd);
        Path = socketPath;
    }

    public string Path { get; }

    /// <summary>The next connection, or null if none arrived within <paramref name="timeout"/>.</summary>
    public VhostUserChannel? Accept(TimeSpan timeout)
    {
        using var lease = _fd.Lease();
        var deadline = Deadline.After(timeout);
        while (true)
        {
            if (Poller.Wait(lease.Fd, Libc.PollIn, deadline) == 0) return null;
            var fd = Libc.Accept4(lease.Fd, 0, 0, Libc.SockCloexec | Libc.SockNonblock);
            if (fd >= 0) return VhostUserChannel.Adopt(fd);
            var errno = Libc.LastErrno;
            // The client may have given up between poll and accept; that is just another wait.
            if (errno is Libc.Eagain or Libc.Eintr or Libc.Econnaborted) continue;
            throw Libc.Error($"accept on '{Path}'", errno);
        }
    }

    public void Dispose()
    {
        if (_fd.IsClosed) return;
        _fd.Dispose();
        Libc.Unlink(Path);
    }

    /// <summary>
    /// bind fails with EADDRINUSE while any file sits at the path, and a socket file survives its creator's death.
    /// Only sockets are removed; anything else at the path is somebody's data and stops us instead.
    /// </summary>
    private static void RemoveStaleSocket(string path)
    {
        var type = Libc.FileType(path);
        if (type is null) return;
        if (type != Libc.SIfsock)
            throw new IOException($"cannot listen on '{path}': it exists and is not a socket (mode type 0x{type:x}); not deleting it");
        if (Libc.Unlink(path) != 0 && Libc.LastErrno != Libc.Enoent)
            throw Libc.Error($"unlink of stale socket '{path}'", Libc.LastErrno);
    }
}
