using VirtioMq.Adapters.Devices;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Adapters.VhostUser;

/// <summary>
/// The back-end answered a request's need_reply with a non-zero REPLY_ACK: it refused it, as the protocol lets it
/// (vu.reply-ack.nonzero-on-failure). A refusal is an answer, not a broken connection, so it has its own type:
/// a check that probes input a careful back-end may refuse accepts it by request and ring, and any other check
/// still sees a DeviceProtocolException.
/// </summary>
public sealed class VhostUserRefusalException(VhostUserRequest request, ulong status, string socketPath, int? vring = null)
    : DeviceProtocolException($"the vhost-user back-end at {socketPath} refused {request.WireName()}{(vring is { } v ? $" for vring {v}" : "")} (REPLY_ACK status {status})")
{
    public VhostUserRequest Request { get; } = request;
    public ulong Status { get; } = status;
    public string SocketPath { get; } = socketPath;

    /// <summary>The ring the refused request was about, when the sender knows it.</summary>
    public int? Vring { get; } = vring;

    /// <summary>The same refusal, told which ring it was about.</summary>
    public VhostUserRefusalException ForVring(int vq, Breach? breach = null) =>
        new(Request, Status, SocketPath, vq) { Breach = breach };
}
