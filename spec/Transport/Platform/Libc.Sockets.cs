using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VirtioMq.Spec.Platform;

/// <summary>
/// AF_UNIX stream sockets with SCM_RIGHTS, bound by hand. System.Net.Sockets.Socket is not used for the vhost-user
/// channel: it has no sendmsg/recvmsg with ancillary data and no socketpair, and once any async method touches it
/// the fd silently turns non-blocking. Owning the raw fd keeps one model (poll, then a MSG_DONTWAIT call) for
/// connect, accept, send and receive alike. Struct layouts are LP64 Linux (x86_64, aarch64).
/// </summary>
public static unsafe partial class Libc
{
    public const int AfUnix = 1;
    public const int SockStream = 1;
    public const int SockNonblock = 0x800;
    public const int SockCloexec = 0x80000;
    public const int SolSocket = 1;
    public const int ScmRights = 1;
    public const int ShutRdwr = 2;

    public const int MsgCtrunc = 0x8;
    public const int MsgDontwait = 0x40;
    public const int MsgNosignal = 0x4000;
    public const int MsgCmsgCloexec = 0x40000000;

    /// <summary>sizeof(sun_path); one byte of it is the terminating NUL, so paths get 107 bytes.</summary>
    public const int SunPathSize = 108;
    public const int MaxUnixPathBytes = SunPathSize - 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    /// <summary>struct msghdr; sequential layout inserts the 4 padding bytes after msg_namelen and at the end (56 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct cmsghdr (16 bytes); the fd array follows at CMSG_DATA = header + CMSG_ALIGN(16).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SockaddrUn
    {
        public ushort Family;
        public fixed byte Path[SunPathSize];
    }

    // glibc's macros, spelled out: the length field counts the aligned header plus the data, not padding after
    // the data. Rounding the whole length up (as one package does) makes the kernel read a padding int as an
    // extra fd whenever an odd number of fds is sent.
    public static int CmsgAlign(int length) => (length + nint.Size - 1) & ~(nint.Size - 1);
    public static int CmsgLen(int dataLength) => CmsgAlign(Unsafe.SizeOf<CmsgHdr>()) + dataLength;
    public static int CmsgSpace(int dataLength) => CmsgAlign(Unsafe.SizeOf<CmsgHdr>()) + CmsgAlign(dataLength);
    public static byte* CmsgData(CmsgHdr* header) => (byte*)header + CmsgAlign(Unsafe.SizeOf<CmsgHdr>());

    /// <summary>A sockaddr_un for <paramref name="path"/> and the address length to pass with it.</summary>
    public static SockaddrUn UnixAddress(string path, out uint length)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path);
        if (bytes.Length == 0 || bytes.Length > MaxUnixPathBytes)
            throw new ArgumentException(
                $"unix socket path '{path}' is {bytes.Length} bytes; sun_path holds 1..{MaxUnixPathBytes}", nameof(path));
        if (Array.IndexOf(bytes, (byte)0) >= 0)
            throw new ArgumentException($"unix socket path '{path}' contains a NUL byte", nameof(path));
        var address = new SockaddrUn { Family = AfUnix };
        for (var i = 0; i < bytes.Length; i++) address.Path[i] = bytes[i];
        length = (uint)(sizeof(ushort) + bytes.Length + 1);
        return address;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    public static partial int SocketPair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, SockaddrUn* address, uint length);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, SockaddrUn* address, uint length);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, nint address, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);
}
