using System.Runtime.InteropServices;

namespace VirtioMq.Spec.Platform;

/// <summary>The errno values the socket and eventfd code branches on (generic Linux numbering, same on x86_64 and aarch64).</summary>
public static partial class Libc
{
    public const int Enoent = 2;
    public const int Eintr = 4;
    public const int Eagain = 11;
    public const int Epipe = 32;
    public const int Econnaborted = 103;
    public const int Econnreset = 104;
    public const int Enotconn = 107;
    public const int Econnrefused = 111;

    /// <summary>errno of the last [LibraryImport] call on this thread; read it before any other P/Invoke.</summary>
    public static int LastErrno => Marshal.GetLastPInvokeError();

    public static IOException Error(string what, int errno) =>
        new($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
}
