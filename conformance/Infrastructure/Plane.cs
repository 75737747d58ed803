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
    /// <summary>
    /// What a plane is, in the words a report uses: on a vhost-user back-end (<paramref name="vhostUserBackEnd"/>) the
    /// control plane is the suite's own front-end, and only the data plane is the device under test.
    /// </summary>
    public static string Describe(Plane plane, bool vhostUserBackEnd) => (plane, vhostUserBackEnd) switch
    {
        (Plane.Control, true) => "the suite's front-end device model (not the back-end)",
        (Plane.Data, true) => "the vhost-user back-end's data plane",
        (Plane.Control, false) => "the device's control plane",
        _ => "the device's data plane",
    };
}
