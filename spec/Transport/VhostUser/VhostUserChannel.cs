using VirtioMq.Spec.Platform;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// Framed vhost-user messages with fds over a connected AF_UNIX stream socket.
/// Thread-safety: at most one thread sends and at most one thread receives at a time (the two may overlap);
/// Dispose may come from any thread and wakes a blocked Receive, which then sees the connection as closed.
/// After a protocol error, a timeout in the middle of a message or a partial send, the byte stream is out of step,
/// so every later call fails: the spec's remedy is to drop the connection.
/// </summary>
public sealed unsafe class VhostUserChannel : IDisposable
{
    private readonly FdHandle _fd;
    private volatile string? _brokenBecause;

    private VhostUserChannel(int fd) => _fd = new FdHandle(fd);

    /// <summary>How long Send waits for room in the socket buffer before giving up on a peer that stopped reading.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The socket fd, borrowed (e.g. to pass it as SET_BACKEND_REQ_FD); the channel still owns and closes it.</summary>
    public int Fd
    {
        get
        {
            ObjectDisposedException.ThrowIf(_fd.IsClosed, this);
            return (int)_fd.DangerousGetHandle();
        }
    }

    /// <summary>Takes ownership of a connected stream socket fd, e.g. one received with SET_BACKEND_REQ_FD.</summary>
    public static VhostUserChannel Adopt(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        return new VhostUserChannel(fd);
    }

    /// <summary>Two connected ends, for tests and for the back-end request channel.</summary>
    public static (VhostUserChannel, VhostUserChannel) CreatePair()
    {
        var fds = stackalloc int[2];
        Libc.Check(Libc.SocketPair(Libc.AfUnix, Libc.SockStream | Libc.SockCloexec | Libc.SockNonblock, 0, fds), "socketpair");
        return (new VhostUserChannel(fds[0]), new VhostUserChannel(fds[1]));
    }

    /// <summary>
    /// Connects to a listening back-end, retrying while the path is missing or nobody listens yet (back-ends
    /// are often started in parallel with the front-end).
    /// </summary>
    public static VhostUserChannel Connect(string socketPath, TimeSpan timeout)
    {
        var address = Libc.UnixAddress(socketPath, out var length);
        var deadline = Deadline.After(timeout);
        while (true)
        {
            var fd = Libc.Check(Libc.Socket(Libc.AfUnix, Libc.SockStream | Libc.SockCloexec | Libc.SockNonblock, 0), "socket");
            var result = Libc.Connect(fd, &address, length);
            var errno = result == 0 ? 0 : Libc.LastErrno;
            if (result == 0) return new VhostUserChannel(fd);
            Libc.Close(fd);
            // ENOENT: not created yet; ECONNREFUSED: stale file or not listening yet; EAGAIN: backlog full.
            var transient = errno is Libc.Enoent or Libc.Econnrefused or Libc.Eagain or Libc.Eintr;
            if (!transient) throw Libc.Error($"connect to vhost-user socket '{socketPath}'", errno);
            if (deadline.Expired)
                throw new TimeoutException(
                    $"no vhost-user back-end accepted a connection on '{socketPath}' within {timeout} (last error: errno {errno}, {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)})");
            var wait = deadline.RemainingMilliseconds;
            Thread.Sleep(wait < 0 ? 20 : Math.Min(20, wait));
        }
    }

    /// <summary>
    /// Whether the peer has hung up or has something to say, looked at without waiting. On a connection the front-end
    /// has not spoken on yet either means the back-end behind it is gone: vhost-user's back-end never speaks first.
    /// </summary>
    public bool PeerHungUpOrSpoke()
    {
        using var lease = _fd.Lease();
        return (Poller.Wait(lease.Fd, Libc.PollIn, Deadline.After(TimeSpan.Zero)) & (Libc.PollIn | Libc.PollHup | Libc.PollErr)) != 0;
    }

    /// <summary>Sends one message: header and payload in one sendmsg with all fds attached to it.</summary>
    public void Send(VhostUserMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Payload.Length > VhostUserMessage.MaxPayloadSize)
            throw new ArgumentException($"{message} exceeds the {VhostUserMessage.MaxPayloadSize}-byte payload limit", nameof(message));
        if (message.Fds.Length > VhostUserMessage.MaxFds)
            throw new ArgumentException($"{message} carries more than {VhostUserMessage.MaxFds} fds", nameof(message));
        SendRaw(message.Encode(), message.Fds);
    }

    /// <summary>
    /// Writes bytes and fds without any framing checks: for fault injection (oversized headers, too many fds,
    /// torn messages). The fds go with the first chunk; a short write's remainder follows without them.
    /// </summary>
    public void SendRaw(ReadOnlySpan<byte> bytes, ReadOnlySpan<int> fds)
    {
        if (bytes.IsEmpty && !fds.IsEmpty) throw new ArgumentException("fds need at least one data byte to travel with", nameof(bytes));
        ThrowIfBroken();
        using var lease = _fd.Lease();
        var deadline = Deadline.After(SendTimeout);
        var sent = 0;
        var pendingFds = fds;
        while (sent < bytes.Length)
        {
            var n = ScmRights.Send(lease.Fd, bytes[sent..], pendingFds, out var errno);
            if (n > 0)
            {
                sent += n;
                pendingFds = [];
                continue;
            }
            if (errno == Libc.Eintr) continue;
            if (errno == Libc.Eagain)
            {
                if ((Poller.Wait(lease.Fd, Libc.PollOut, deadline) & (Libc.PollOut | Libc.PollErr | Libc.PollHup)) != 0) continue;
                if (sent > 0) Break($"a send timed out after {sent} of {bytes.Length} bytes");
                throw new TimeoutException($"peer did not read: no room to send {bytes.Length} bytes within {SendTimeout}");
            }
            if (sent > 0) Break($"a send failed after {sent} of {bytes.Length} bytes");
            if (errno is Libc.Epipe or Libc.Econnreset or Libc.Enotconn)
                throw new VhostUserDisconnectedException($"peer closed the connection; {bytes.Length} bytes not sent");
            throw Libc.Error("sendmsg", errno);
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for one whole message (header, payload and fds); the caller owns the
    /// fds it returns. <paramref name="waitingFor"/> names the expected message in timeout and disconnect errors.
    /// </summary>
    public VhostUserMessage Receive(TimeSpan timeout, string waitingFor)
    {
        ThrowIfBroken();
        using var lease = _fd.Lease();
        var deadline = Deadline.After(timeout);
        var fds = new List<int>();
        var reader = new Reader(this, lease.Fd, deadline, timeout, waitingFor, fds);
        try
        {
            var headerBytes = new byte[VhostUserMessage.HeaderSize];
            reader.ReadExactly(headerBytes, startsMessage: true);
            var header = VhostUserHeader.Decode(headerBytes);
            if (header.Problem is { } problem)
            {
                Break(problem);
                throw new VhostUserProtocolException(problem);
            }
            var payload = new byte[header.Size];
            reader.ReadExactly(payload, startsMessage: false);
            return new VhostUserMessage(header.Request, header.Flags, payload, fds.ToArray());
        }
        catch
        {
            foreach (var fd in fds) Libc.Close(fd);
            throw;
        }
    }

    public void Dispose()
    {
        if (_fd.IsClosed) return;
        // shutdown first: a Receive polling on another thread wakes up with end-of-stream instead of waiting out
        // its timeout, and only then can the deferred close happen.
        try
        {
            using var lease = _fd.Lease();
            Libc.Shutdown(lease.Fd, Libc.ShutRdwr);
        }
        catch (ObjectDisposedException)
        {
        }
        _fd.Dispose();
    }

    private void ThrowIfBroken()
    {
        if (_brokenBecause is { } why) throw new VhostUserProtocolException($"channel is out of step and unusable: {why}");
    }

    private void Break(string why) => _brokenBecause ??= why;

    /// <summary>Reads an exact byte count within one deadline, gathering fds from every recvmsg.</summary>
    private readonly ref struct Reader(VhostUserChannel channel, int fd, Deadline deadline, TimeSpan timeout, string waitingFor, List<int> fds)
    {
        private readonly VhostUserChannel _channel = channel;
        private readonly int _fd = fd;
        private readonly Deadline _deadline = deadline;
        private readonly TimeSpan _timeout = timeout;
        private readonly string _waitingFor = waitingFor;
        private readonly List<int> _fds = fds;

        public void ReadExactly(Span<byte> buffer, bool startsMessage)
        {
            var got = 0;
            while (got < buffer.Length)
            {
                var atBoundary = startsMessage && got == 0;
                if (Poller.Wait(_fd, Libc.PollIn, _deadline) == 0)
                {
                    if (atBoundary) throw new TimeoutException($"timed out after {_timeout} waiting for {_waitingFor}");
                    _channel.Break($"timed out in the middle of a message while waiting for {_waitingFor}");
                    throw new TimeoutException($"timed out after {_timeout} waiting for {_waitingFor}: only part of the message arrived ({got} of {buffer.Length} bytes of its {(startsMessage ? "header" : "payload")})");
                }
                var n = ScmRights.Receive(_fd, buffer[got..], _fds, out var truncated, out var errno);
                if (truncated)
                {
                    _channel.Break("peer sent more fds than fit");
                    throw new VhostUserProtocolException(
                        $"message received while waiting for {_waitingFor} carries more than {VhostUserMessage.MaxFds} fds (control data truncated); the {_fds.Count} received were closed");
                }
                if (_fds.Count > VhostUserMessage.MaxFds)
                {
                    _channel.Break("peer sent more fds than allowed");
                    throw new VhostUserProtocolException(
                        $"message received while waiting for {_waitingFor} carries {_fds.Count} fds, more than {VhostUserMessage.MaxFds}; they were closed");
                }
                if (n > 0)
                {
                    got += n;
                    continue;
                }
                if (n == 0 || errno is Libc.Econnreset)
                {
                    if (atBoundary) throw new VhostUserDisconnectedException($"peer closed the connection while waiting for {_waitingFor}");
                    _channel.Break("peer closed the connection in the middle of a message");
                    throw new VhostUserDisconnectedException(
                        $"peer closed the connection in the middle of a message while waiting for {_waitingFor} ({got} of {buffer.Length} bytes of its {(startsMessage ? "header" : "payload")})");
                }
                if (errno is Libc.Eintr or Libc.Eagain) continue;
                throw Libc.Error("recvmsg", errno);
            }
        }
    }
}
