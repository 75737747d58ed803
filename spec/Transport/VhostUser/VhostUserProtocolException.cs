namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// The peer broke the wire format or a payload rule. The spec's answer to this is closing the connection, so
/// callers should treat the channel as unusable afterwards.
/// </summary>
public sealed class VhostUserProtocolException : Exception
{
    public VhostUserProtocolException(string message) : base(message) { }

    public VhostUserProtocolException(VhostUserRequest request, string problem)
        : base($"{request.WireName()} {problem}") => Request = request;

    /// <summary>The request being decoded, when the problem is in a payload.</summary>
    public VhostUserRequest? Request { get; }
}
