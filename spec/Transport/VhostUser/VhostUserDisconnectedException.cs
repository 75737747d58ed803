namespace VirtioMq.Spec.VhostUser;

/// <summary>The peer closed (or reset) the connection; distinct from IOException so a harness can tell a
/// back-end that hung up from one that misbehaved on the wire.</summary>
public sealed class VhostUserDisconnectedException : IOException
{
    public VhostUserDisconnectedException(string message) : base(message) { }
}
