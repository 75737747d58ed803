using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>
/// A device whose data plane is a vhost-user back-end behind the suite's front-end: what the back-end said at the
/// handshake, and a way to send it a request of the protocol directly.
/// </summary>
public interface IVhostUserBackEnd
{
    /// <summary>GET_FEATURES.</summary>
    FeatureSet BackendFeatures { get; }

    /// <summary>The protocol features the front-end acked (those it wants of what GET_PROTOCOL_FEATURES offered).</summary>
    ulong ProtocolFeatures { get; }

    /// <summary>The GET_QUEUE_NUM answer, or null when VHOST_USER_PROTOCOL_F_MQ was not offered.</summary>
    ulong? QueueNum { get; }

    /// <summary>
    /// Sends one request, with need_reply when REPLY_ACK was negotiated.
    /// </summary>
    /// <exception cref="DeviceTimeoutException">No ack came.</exception>
    /// <exception cref="VhostUser.VhostUserRefusalException">The ack was non-zero.</exception>
    void Send(VhostUserRequest request, byte[] payload);
}
