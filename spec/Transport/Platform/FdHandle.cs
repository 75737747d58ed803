using System.Runtime.InteropServices;

namespace VirtioMq.Spec.Platform;

/// <summary>
/// An owned file descriptor. It is a SafeHandle so that a Dispose on one thread cannot close (and let the kernel
/// reuse) the number while another thread is inside poll/recvmsg on it: every call holds a <see cref="Lease"/>,
/// and the close waits for the last one to end.
/// </summary>
public sealed class FdHandle : SafeHandle
{
    public FdHandle(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    /// <summary>Keeps the fd open until the lease is disposed; throws ObjectDisposedException once the handle is closed.</summary>
    public FdLease Lease()
    {
        var added = false;
        DangerousAddRef(ref added);
        return new FdLease(this, (int)DangerousGetHandle());
    }

    // A close error (EBADF, EIO on some filesystems) leaves nothing to retry: Linux has released the number either way.
    protected override bool ReleaseHandle()
    {
        Libc.Close((int)handle);
        return true;
    }
}

public readonly ref struct FdLease
{
    private readonly FdHandle _owner;

    internal FdLease(FdHandle owner, int fd)
    {
        _owner = owner;
        Fd = fd;
    }

    public int Fd { get; }

    public void Dispose() => _owner.DangerousRelease();
}
