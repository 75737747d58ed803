using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>Which virtqueue does which job: the receiveqs, transmitqs and controlq of §5.1.2.</summary>
public interface IQueueRoles
{
    /// <summary>What the device model takes virtqueue <paramref name="vq"/> to be under the negotiated layout.</summary>
    QueueRole RoleOf(int vq, NetQueueLayout layout, FeatureSet negotiated);

    /// <summary>Whether data virtqueue <paramref name="vq"/> is a receiveq (else a transmitq).</summary>
    bool IsReceiveq(int vq);

    /// <summary>The index of receiveq<paramref name="pair"/>.</summary>
    int Receiveq(int pair);
}

/// <summary>
/// The layout of §5.1.2: receiveqN at 2(N-1), transmitqN at 2(N-1)+1, the controlq after the last pair the
/// negotiated features define (2N with MQ, 2 without), worked out afresh from whatever was negotiated last.
/// </summary>
public sealed class NetQueueRoles : IQueueRoles
{
    public static NetQueueRoles Instance { get; } = new();

    public QueueRole RoleOf(int vq, NetQueueLayout layout, FeatureSet negotiated) => layout.Identify(vq).Role;

    public bool IsReceiveq(int vq) => vq % 2 == 0;

    public int Receiveq(int pair) => NetQueueLayout.Receiveq(pair);
}
