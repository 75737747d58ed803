namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// The two halves of a virtio-net device that a vhost-user deployment splits between two programs. Each check says
/// which it judges (<see cref="Rules.SuiteCheck.Planes"/>, NUnit property "Plane"), so a report over vhost-user can
/// tell the vendor which results are about their back-end and which are about the suite's front-end model.
/// </summary>
public enum Plane
{
    /// <summary>Status, features, config space and the controlq: QEMU's virtio-net model, the suite's own front-end over vhost-user.</summary>
    Control,
    /// <summary>The receiveqs and transmitqs: the back-end under test over vhost-user.</summary>
    Data,
}

public static class Planes
{
    /// <summary>What a plane is on the given kind of device, in the words a report uses.</summary>
    public static string Describe(Plane plane, string scheme) => (plane, scheme) switch
    {
        (Plane.Control, "vhost-user") => "the suite's front-end device model (not the back-end)",
        (Plane.Data, "vhost-user") => "the vhost-user back-end's data plane",
        (Plane.Control, _) => "the device's control plane",
        _ => "the device's data plane",
    };
}
