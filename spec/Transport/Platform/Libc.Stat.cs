using System.Runtime.InteropServices;

namespace VirtioMq.Spec.Platform;

/// <summary>
/// File type lookup through statx, whose struct has one layout on every Linux architecture (unlike struct stat),
/// so only the mode field at a fixed offset is needed.
/// </summary>
public static unsafe partial class Libc
{
    private const int AtFdcwd = -100;
    private const int AtSymlinkNofollow = 0x100;
    private const uint StatxType = 0x1;
    private const int StatxSize = 256;
    private const int StatxModeOffset = 0x1C;
    private const int SIfmt = 0xF000;

    public const int SIfsock = 0xC000;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, byte* buffer);

    /// <summary>The S_IFMT bits of <paramref name="path"/> (symlinks not followed), or null if nothing is there.</summary>
    public static int? FileType(string path)
    {
        var buffer = stackalloc byte[StatxSize];
        if (Statx(AtFdcwd, path, AtSymlinkNofollow, StatxType, buffer) != 0)
        {
            var errno = LastErrno;
            return errno == Enoent ? null : throw Error($"statx of '{path}'", errno);
        }
        return *(ushort*)(buffer + StatxModeOffset) & SIfmt;
    }
}
