namespace VirtioMq.Spec.Platform;

/// <summary>poll(2) on one fd, restarted after signals (poll is never restarted by SA_RESTART).</summary>
public static unsafe class Poller
{
    /// <summary>The returned events, or 0 when the deadline passed first. POLLNVAL is an error: the fd was not open.</summary>
    public static short Wait(int fd, short events, Deadline deadline)
    {
        while (true)
        {
            var entry = new Libc.PollFd { Fd = fd, Events = events };
            var result = Libc.Poll(&entry, 1, deadline.RemainingMilliseconds);
            if (result > 0)
            {
                if ((entry.ReturnedEvents & Libc.PollNval) != 0) throw new IOException($"poll: fd {fd} is not open");
                return entry.ReturnedEvents;
            }
            if (result == 0)
            {
                if (deadline.Expired) return 0;
                continue;
            }
            var errno = Libc.LastErrno;
            if (errno != Libc.Eintr) throw Libc.Error("poll", errno);
        }
    }
}
