using System.Runtime.InteropServices;

namespace VirtioMq.Spec.Platform;

public static partial class Libc
{
    private const int SeekEnd = 2;

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Lseek(int fd, long offset, int whence);

    /// <summary>The size of the file behind <paramref name="fd"/>: how far a mapping of it may reach.</summary>
    public static long FileSize(int fd)
    {
        var size = Lseek(fd, 0, SeekEnd);
        return size >= 0 ? size : throw new IOException($"lseek on fd {fd} failed: {Marshal.GetLastPInvokeErrorMessage()}");
    }
}
