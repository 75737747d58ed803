namespace VirtioMq.Tests.VhostUser;

/// <summary>What this process holds open, from /proc/self/fd (the listing's own dir fd is counted both times alike).</summary>
internal static class OpenFds
{
    /// <summary>Finalizers of handles other tests forgot to dispose run first, so they cannot close fds mid-comparison.</summary>
    public static int Count()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Directory.GetFiles("/proc/self/fd").Length;
    }

    public static string? Target(int fd) => new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
}
