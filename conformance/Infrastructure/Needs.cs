namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// The capabilities checks ask devices for, each with the reason a check that needs it is not applicable to a
/// device without it. A check never asks what kind of device it has; it asks whether it can do what the rule needs.
/// </summary>
public static class Needs
{
    public const string VhostUserBackEnd = "the device is not a vhost-user back-end; these rules bind vhost-user back-ends";
    public const string RingSuspension = "the device offers no way to stop a ring and resume it at an index (vhost-user GET_VRING_BASE/SET_VRING_BASE)";
    public const string PciTransport = "the device is not reached through the virtio-pci transport; these rules bind PCI devices";
    public const string RingEnable = "the device offers no per-ring enable (vhost-user SET_VRING_ENABLE)";
    public const string ServerMode = "the suite does not listen for this back-end (vhost-user server mode, server=1): it cannot see the back-end connect again";

    /// <summary>The open device's capability <typeparamref name="T"/>; null, with the case marked not applicable, when it has none.</summary>
    public static T? Capability<T>(DriverSession session, string whyNeeded) where T : class
    {
        var capability = session.Device.Capabilities.Get<T>();
        if (capability is null) ThisCase.NotApplicable(whyNeeded);
        return capability;
    }

    /// <summary>
    /// Whether the device under test is known to have capability <typeparamref name="T"/>, from what the run has read of
    /// it so far; never opens the device (for wording reports, also of a run whose device was out of reach).
    /// </summary>
    public static bool Known<T>(SuiteContext ctx) where T : class => DeviceFacts.Known(ctx)?.Has<T>() ?? false;

    /// <summary>Ends the test as not applicable, before any case runs, when the device under test lacks <typeparamref name="T"/>.</summary>
    public static void Require<T>(SuiteContext ctx, string whyNeeded) where T : class
    {
        bool has;
        try
        {
            has = DeviceFacts.Of(ctx).Has<T>();
        }
        catch (Exception)
        {
            return; // a device that cannot be read now is the check's to report, with its own rule or as not run
        }
        if (!has) Suite.NotApplicable($"{ctx.Device}: {whyNeeded}");
    }
}
