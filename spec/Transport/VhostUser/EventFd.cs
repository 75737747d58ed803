using VirtioMq.Spec.Platform;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// A kick/call/err notifier. The counter's value carries no meaning in vhost-user, only "something happened", so
/// <see cref="Signal"/> adds 1 and <see cref="Drain"/> reports how many signals were folded together.
/// Wait and Drain may run on one thread while another signals; Dispose waits for a running Wait to return.
/// </summary>
public sealed unsafe class EventFd : IDisposable
{
    private readonly FdHandle _fd;

    private EventFd(int fd) => _fd = new FdHandle(fd);

    /// <summary>A new non-blocking, close-on-exec eventfd with counter 0.</summary>
    public static EventFd Create() =>
        new(Libc.Check(Libc.EventFd(0, Libc.EfdCloexec | Libc.EfdNonblock), "eventfd"));

    /// <summary>
    /// Takes ownership of an eventfd received from the peer. Its O_NONBLOCK state belongs to the peer's open file
    /// description, so nothing here assumes it: reads happen only after poll says the counter is non-zero.
    /// </summary>
    public static EventFd Adopt(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        return new EventFd(fd);
    }

    /// <summary>
    /// Whether <paramref name="fd"/> is an eventfd, going by the name Linux gives its inode in /proc/self/fd;
    /// <paramref name="kind"/> is that name (or "unknown"), for error messages.
    /// </summary>
    public static bool IsEventFd(int fd, out string kind)
    {
        kind = new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "unknown";
        return kind == "anon_inode:[eventfd]";
    }

    /// <summary>The fd number, e.g. to send it over a channel (the kernel copies it; this object keeps its own).</summary>
    public int Fd
    {
        get
        {
            ObjectDisposedException.ThrowIf(_fd.IsClosed, this);
            return (int)_fd.DangerousGetHandle();
        }
    }

    public void Signal()
    {
        using var lease = _fd.Lease();
        ulong one = 1;
        while (true)
        {
            if (Libc.Write(lease.Fd, &one, sizeof(ulong)) == sizeof(ulong)) return;
            var errno = Libc.LastErrno;
            if (errno == Libc.Eintr) continue;
            // EAGAIN: the counter is at its maximum, so the peer is already signalled; adding more changes nothing.
            if (errno == Libc.Eagain) return;
            throw Libc.Error("eventfd write", errno);
        }
    }

    /// <summary>Reads and resets the counter; 0 when nothing was signalled. Never blocks.</summary>
    public ulong Drain()
    {
        using var lease = _fd.Lease();
        while (true)
        {
            if ((Poller.Wait(lease.Fd, Libc.PollIn, Deadline.After(TimeSpan.Zero)) & Libc.PollIn) == 0) return 0;
            ulong value;
            if (Libc.Read(lease.Fd, &value, sizeof(ulong)) == sizeof(ulong)) return value;
            var errno = Libc.LastErrno;
            if (errno == Libc.Eintr) continue;
            if (errno == Libc.Eagain) return 0; // another reader won the race
            throw Libc.Error("eventfd read", errno);
        }
    }

    /// <summary>True once the counter is non-zero (within <paramref name="timeout"/>); leaves the counter as it is.</summary>
    public bool Wait(TimeSpan timeout)
    {
        using var lease = _fd.Lease();
        return (Poller.Wait(lease.Fd, Libc.PollIn, Deadline.After(timeout)) & Libc.PollIn) != 0;
    }

    public void Dispose() => _fd.Dispose();
}
