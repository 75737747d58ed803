using System.Runtime.InteropServices;

namespace VirtioMq.Spec.Platform;

/// <summary>
/// The few libc calls that shared guest memory needs. Written by hand with [LibraryImport] rather than
/// taken from a package, so the struct and flag values are ours to check (see the project README).
/// </summary>
public static partial class Libc
{
    public const int ProtRead = 1;
    public const int ProtWrite = 2;
    public const int MapShared = 1;
    public const uint MfdCloexec = 1;
    public static readonly nint MapFailed = -1;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    public static partial int Dup(int fd);

    /// <summary>Throws with errno's text when a libc call returned the failure value.</summary>
    public static int Check(int result, string what) =>
        result >= 0 ? result : throw new IOException($"{what} failed: {Marshal.GetLastPInvokeErrorMessage()} (errno {Marshal.GetLastPInvokeError()})");
}
