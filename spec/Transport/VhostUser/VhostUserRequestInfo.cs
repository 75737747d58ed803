using System.Text;

namespace VirtioMq.Spec.VhostUser;

/// <summary>What the spec says about each request: its wire name, whether it is answered, whether it carries fds.</summary>
public static class VhostUserRequestInfo
{
    /// <summary>
    /// The spec name without its VHOST_USER_ prefix (SetVringAddr → SET_VRING_ADDR), for error messages that a
    /// reader can search the spec for. Unknown ids print as "request 99".
    /// </summary>
    public static string WireName(this VhostUserRequest request)
    {
        if (!Enum.IsDefined(request)) return $"request {(uint)request}";
        var name = request.ToString();
        var wire = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i])) wire.Append('_');
            wire.Append(char.ToUpperInvariant(name[i]));
        }
        return wire.ToString();
    }

    /// <summary>
    /// Requests whose reply does not depend on negotiated features (each has a reply payload in the spec).
    /// SET_LOG_BASE (with LOG_SHMFD) and any request with NeedReply under REPLY_ACK are answered too; see
    /// <see cref="ExpectsReply"/>.
    /// </summary>
    public static bool AlwaysGetsReply(this VhostUserRequest request) => request switch
    {
        VhostUserRequest.GetFeatures or VhostUserRequest.GetProtocolFeatures or VhostUserRequest.GetVringBase
            or VhostUserRequest.GetQueueNum or VhostUserRequest.GetConfig or VhostUserRequest.GetStatus
            or VhostUserRequest.GetMaxMemSlots or VhostUserRequest.GetInflightFd
            or VhostUserRequest.IotlbMsg or VhostUserRequest.CreateCryptoSession
            or VhostUserRequest.PostcopyAdvise or VhostUserRequest.PostcopyEnd
            or VhostUserRequest.GetSharedObject or VhostUserRequest.SetDeviceStateFd
            or VhostUserRequest.CheckDeviceState => true,
        _ => false,
    };

    /// <summary>
    /// Whether a back-end must answer this request, given the negotiated protocol features. With REPLY_ACK, a
    /// need_reply on a request that is answered anyway adds nothing: there is still exactly one reply.
    /// </summary>
    public static bool ExpectsReply(VhostUserRequest request, VhostUserFlags flags, ulong protocolFeatures) =>
        request.AlwaysGetsReply()
        || (request == VhostUserRequest.SetLogBase && VhostUserProtocolFeature.Has(protocolFeatures, VhostUserProtocolFeature.LogShmfd))
        || ((flags & VhostUserFlags.NeedReply) != 0 && VhostUserProtocolFeature.Has(protocolFeatures, VhostUserProtocolFeature.ReplyAck));

    /// <summary>
    /// Requests sent with fds in the ancillary data (the spec's list, plus GPU_SET_SOCKET). For SET_VRING_KICK/CALL/ERR
    /// the fd is absent when bit 8 of the payload is set; SET_LOG_BASE has one only with LOG_SHMFD.
    /// </summary>
    public static bool RequestCarriesFds(this VhostUserRequest request) => request switch
    {
        VhostUserRequest.SetMemTable or VhostUserRequest.AddMemReg or VhostUserRequest.SetLogBase
            or VhostUserRequest.SetLogFd or VhostUserRequest.SetVringKick or VhostUserRequest.SetVringCall
            or VhostUserRequest.SetVringErr or VhostUserRequest.SetBackendReqFd or VhostUserRequest.SetInflightFd
            or VhostUserRequest.GpuSetSocket or VhostUserRequest.SetDeviceStateFd => true,
        _ => false,
    };

    /// <summary>Requests whose reply may carry an fd back to the front-end.</summary>
    public static bool ReplyCarriesFds(this VhostUserRequest request) => request switch
    {
        VhostUserRequest.PostcopyAdvise or VhostUserRequest.GetInflightFd or VhostUserRequest.GetSharedObject
            or VhostUserRequest.SetDeviceStateFd => true,
        _ => false,
    };
}
