namespace VirtioMq.Conformance.Infrastructure;

/// <summary>The two halves of a virtio-net device that a vhost-user deployment splits between two programs.</summary>
public enum Plane
{
    /// <summary>Status, features, config space and the controlq: QEMU's virtio-net model, the suite's own front-end over vhost-user.</summary>
    Control,
    /// <summary>The receiveqs and transmitqs: the back-end under test over vhost-user.</summary>
    Data,
}

/// <summary>
/// Says which plane a test judges, so a report over vhost-user can tell the vendor which results are about
/// their back-end and which are about the suite's front-end model. Stored as NUnit property "Plane".
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, AllowMultiple = false)]
public sealed class PlaneAttribute : NUnit.Framework.PropertyAttribute
{
    public const string PropertyName = "Plane";

    public PlaneAttribute(params Plane[] planes)
    {
        if (planes.Length == 0) throw new ArgumentException("a test judges at least one plane");
        Planes = planes;
        foreach (var p in planes) Properties.Add(PropertyName, p.ToString());
    }

    public IReadOnlyList<Plane> Planes { get; }

    /// <summary>What a plane is on the given kind of device, in the words a report uses.</summary>
    public static string Describe(Plane plane, string scheme) => (plane, scheme) switch
    {
        (Plane.Control, "vhost-user") => "the suite's front-end device model (not the back-end)",
        (Plane.Data, "vhost-user") => "the vhost-user back-end's data plane",
        (Plane.Control, _) => "the device's control plane",
        _ => "the device's data plane",
    };
}
