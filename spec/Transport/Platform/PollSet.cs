using System.Runtime.InteropServices;

namespace VirtioMq.Spec.Platform;

/// <summary>poll(2) over a handful of fds: how one thread waits for a socket and many eventfds at once.</summary>
public static partial class PollSet
{
    private const short PollIn = 0x001;
    private const short PollErr = 0x008;
    private const short PollHup = 0x010;
    private const int Eintr = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    /// <summary>
    /// Waits until at least one fd is readable (or hung up, which a read then reports) or the timeout passes;
    /// returns the ready fds, empty on timeout.
    /// </summary>
    public static unsafe IReadOnlyList<int> WaitReadable(IReadOnlyList<int> fds, TimeSpan timeout)
    {
        var set = new PollFd[fds.Count];
        for (var i = 0; i < set.Length; i++) set[i] = new PollFd { Fd = fds[i], Events = PollIn };
        var ms = (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue);
        int n;
        fixed (PollFd* p = set)
        {
            n = Poll(p, (nuint)set.Length, ms);
        }
        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Eintr) return [];
            throw new IOException($"poll failed: {Marshal.GetLastPInvokeErrorMessage()} (errno {errno})");
        }
        var ready = new List<int>(n);
        foreach (var s in set)
            if ((s.Revents & (PollIn | PollErr | PollHup)) != 0) ready.Add(s.Fd);
        return ready;
    }
}
