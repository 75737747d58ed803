using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Reference.Virtqueues;

namespace VirtioMq.Reference.Seams;

/// <summary>
/// The places where a device's behaviour can vary, each with the healthy part the spec asks for. A device, a data
/// plane and a vhost-user session each take their own set when they are built, so parts that keep state (the flow
/// table, say) belong to that one component.
/// </summary>
/// <param name="Roles">Which virtqueue is a receiveq, a transmitq or the controlq (§5.1.2).</param>
/// <param name="Offer">What the device shows before negotiation: feature bits and max_virtqueue_pairs (§5.1.3, §5.1.4).</param>
/// <param name="Lifecycle">When kicks are served, and what a reset forgets (§2.1.2, §2.4).</param>
/// <param name="Controlq">What the device does with each control command (§5.1.9.5).</param>
/// <param name="Rings">How a ring is read, split (§2.7) or packed (§2.8): what counts as available, and refused chains.</param>
/// <param name="PackedRings">How a packed ring (§2.8) names a list's buffer, places used descriptors and tests the driver's DESC event.</param>
/// <param name="InOrder">How a ring with VIRTIO_F_IN_ORDER returns buffers in batches (§2.7.9, §2.8.8).</param>
/// <param name="Transmit">How a transmitq's buffers are taken and returned (§5.1.9.5.6, vhost-user ring states).</param>
/// <param name="Steering">Which receiveq a looped-back frame lands on (automatic receive steering, §5.1.9.5.6).</param>
/// <param name="Receive">How a frame is written into a receive buffer (§5.1.9.4).</param>
/// <param name="Hashing">The hash a received frame gets and the receiveq RSS picks for it (§5.1.9.4.3, §5.1.9.5.7.3).</param>
/// <param name="VhostUser">The back-end's answers to vhost-user messages that shape its rings.</param>
public sealed record DeviceSeams(
    IQueueRoles Roles,
    IDeviceOffer Offer,
    IDeviceLifecycle Lifecycle,
    IControlCommands Controlq,
    IRingRules Rings,
    IPackedRingRules PackedRings,
    IInOrderRules InOrder,
    ITransmitRules Transmit,
    IReceiveSteering Steering,
    IReceiveRules Receive,
    IVhostUserRules VhostUser,
    IPacketHashing Hashing)
{
    /// <summary>The healthy device: every seam holds the part the spec describes.</summary>
    public static DeviceSeams Healthy() => new(
        NetQueueRoles.Instance, NetDeviceOffer.Instance, DeviceLifecycle.Instance, ControlCommands.Instance,
        RingRules.Instance, PackedRingRules.Instance, InOrderRules.Instance, TransmitRules.Instance, new AutomaticReceiveSteering(), ReceiveRules.Instance,
        VhostUserRules.Instance, PacketHashing.Instance);

    /// <summary>The seams of a device built with <paramref name="options"/>: healthy, then each deviation plugged in, in order.</summary>
    public static DeviceSeams For(ReferenceOptions options)
    {
        var seams = Healthy();
        // Stryker disable once all : out of reach: the healthy device has no deviations; tests/FaultDetection builds every one and proves the suite catches it
        foreach (var d in options.DeviationList) seams = d.Plug(seams, options);
        return seams;
    }
}

/// <summary>
/// A way a device can depart from the healthy one: it plugs its own parts into some of the <see cref="DeviceSeams"/>,
/// usually wrapping the part already there. The bug zoo (reference/Zoo) is made of these; the healthy device has none.
/// </summary>
public abstract class Deviation
{
    /// <summary>The name users give it (<c>fault=NAME</c>, <c>serve --fault NAME</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Whether a vhost-user back-end can have it; the others live in the device model, which a front-end keeps.</summary>
    public abstract bool InBackend { get; }

    /// <summary>The seams with this deviation's parts plugged in; called once for each component built.</summary>
    public abstract DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options);

    public override string ToString() => Name;
}
