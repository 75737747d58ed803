using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>
/// The part of a virtio-net device that moves frames: its receiveqs and transmitqs. The device model
/// (status, features, config space, controlq) drives it. In-process the loopback data plane does the work;
/// a vhost-user front-end hands the same calls to its back-end as SET_VRING_* messages, the way QEMU splits
/// virtio-net from vhost-net.
/// </summary>
public interface INetDataPlane
{
    /// <summary>Starts using data virtqueue <paramref name="vq"/>, at DRIVER_OK or when it is set up after it.</summary>
    void StartQueue(int vq, QueueRegisters registers, FeatureSet negotiated);

    /// <summary>Whether data virtqueue <paramref name="vq"/> has been started and not stopped since.</summary>
    bool IsStarted(int vq);

    /// <summary>
    /// Enables or disables one ring. A disabled transmitq is still drained, its frames discarded; nothing is
    /// received on a disabled receiveq (the vhost-user "started but disabled" state).
    /// </summary>
    void SetEnabled(int vq, bool enabled);

    /// <summary>The driver's available buffer notification for a data virtqueue.</summary>
    void Notify(int vq);

    /// <summary>Stops every ring and forgets all per-device state: the device is reset.</summary>
    void Reset();

    /// <summary>True once a ring proved unusable (the driver exposed more buffers than it holds).</summary>
    bool NeedsReset { get; }
}
