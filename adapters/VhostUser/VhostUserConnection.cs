using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Adapters.VhostUser;

/// <summary>
/// The suite's end of a vhost-user socket: sends requests, waits for replies and acks with a timeout that
/// names the request, and turns a back-end that hangs, hangs up or answers nonsense into a clear error.
/// </summary>
public sealed class VhostUserConnection(VhostUserChannel channel, string socketPath, TimeSpan timeout) : IDisposable
{
    private VhostUserChannel _channel = channel;

    public string SocketPath { get; } = socketPath;
    public TimeSpan Timeout { get; } = timeout;

    /// <summary>Protocol features both sides agreed on (0 until SET_PROTOCOL_FEATURES).</summary>
    public ulong ProtocolFeatures { get; set; }

    public bool Has(int protocolFeature) => (ProtocolFeatures & (1UL << protocolFeature)) != 0;

    /// <summary>Every request sent, in order, for failure messages and for tests that check the sequence.</summary>
    public IReadOnlyList<VhostUserRequest> Sent => _sent;
    private readonly List<VhostUserRequest> _sent = [];

    public static VhostUserConnection Open(string socketPath, TimeSpan connectTimeout, TimeSpan timeout)
    {
        try
        {
            return new VhostUserConnection(VhostUserChannel.Connect(socketPath, connectTimeout), socketPath, timeout);
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            throw new DeviceProtocolException($"cannot reach the vhost-user back-end at {socketPath}: {e.Message}", e);
        }
    }

    /// <summary>Server mode: waits for a back-end to connect to the suite's listening socket (<see cref="ServerSockets"/>).</summary>
    public static VhostUserConnection Accept(string socketPath, TimeSpan connectTimeout, TimeSpan timeout)
    {
        try
        {
            return new VhostUserConnection(ServerSockets.Accept(socketPath, connectTimeout), socketPath, timeout);
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            throw new DeviceProtocolException($"no vhost-user back-end reached the suite at {socketPath}: {e.Message}", e);
        }
    }

    /// <summary>Sends a request that has no reply of its own; with REPLY_ACK it waits for the back-end's verdict.</summary>
    public void Send(VhostUserRequest request, byte[]? payload = null, int[]? fds = null)
    {
        var ack = Has(VhostUserProtocolFeature.ReplyAck);
        Transmit(VhostUserMessage.NewRequest(request, payload, fds, needReply: ack));
        if (!ack) return;
        var status = Payload.ReadU64(ReceiveReply(request, ackOnly: true));
        if (status != 0) throw new VhostUserRefusalException(request, status, SocketPath);
    }

    /// <summary>Sends a request whose reply carries data, and returns that reply.</summary>
    /// <param name="noReply">What a missing reply breaches when the caller knows better than the request alone tells.</param>
    public VhostUserMessage Call(VhostUserRequest request, byte[]? payload = null, Breach? noReply = null)
    {
        Transmit(VhostUserMessage.NewRequest(request, payload));
        return ReceiveReply(request, noReply: noReply);
    }

    public ulong CallU64(VhostUserRequest request) => Payload.ReadU64(Call(request));

    private void Transmit(VhostUserMessage m)
    {
        _sent.Add(m.Request);
        try
        {
            _channel.Send(m);
        }
        catch (Exception e) when (e is VhostUserDisconnectedException or IOException)
        {
            throw new DeviceProtocolException($"the vhost-user back-end at {SocketPath} closed the connection; could not send {m.Request.WireName()}", e);
        }
    }

    private VhostUserMessage ReceiveReply(VhostUserRequest request, bool ackOnly = false, Breach? noReply = null)
    {
        VhostUserMessage reply;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            reply = _channel.Receive(Patience.Current.Cap(Timeout), $"the vhost-user back-end's reply to {request.WireName()}");
            Patience.Current.Answered(clock.Elapsed);
        }
        catch (TimeoutException e)
        {
            Patience.Current.RanOut();
            throw new DeviceTimeoutException($"the vhost-user back-end at {SocketPath} to answer {request.WireName()} (it hangs?) [{e.Message}]", Patience.Current.Cap(Timeout))
            {
                Breach = ackOnly ? Breach.ReplyAckMissing : noReply ?? request switch
                {
                    VhostUserRequest.GetVringBase => Breach.VringBaseReplyMissing,
                    VhostUserRequest.GetQueueNum => Breach.QueueNumReplyMissing,
                    _ => null,
                },
            };
        }
        catch (VhostUserDisconnectedException e)
        {
            throw new DeviceProtocolException($"the vhost-user back-end at {SocketPath} closed the connection instead of answering {request.WireName()}", e);
        }
        catch (VhostUserProtocolException e)
        {
            throw new DeviceProtocolException($"the vhost-user back-end at {SocketPath} answered {request.WireName()} with garbage: {e.Message}", e);
        }
        reply.CloseFds();
        if (!reply.IsReply || reply.Request != request)
            throw new DeviceProtocolException($"the vhost-user back-end at {SocketPath} answered {request.WireName()} with {reply} (expected a reply to {request.WireName()})");
        return reply;
    }

    /// <summary>
    /// Server mode: closes this connection, so a client back-end connects again, and goes on over the connection
    /// <paramref name="accept"/> returns (whose TimeoutException or IOException reaches the caller). Nothing was agreed
    /// on the new one yet: the protocol features start from 0.
    /// </summary>
    public void Replace(Func<VhostUserChannel> accept)
    {
        _channel.Dispose();
        ProtocolFeatures = 0;
        _channel = accept();
    }

    public void Dispose() => _channel.Dispose();
}
