namespace VirtioMq.Adapters.Devices.Capabilities;

/// <summary>
/// What a device can do beyond the common transport of <see cref="IVirtioDevice"/>, one interface per capability,
/// as Kestrel's feature collection: a check asks for the capability it needs and is not applicable, with the
/// reason, to a device without it. No check asks what kind of device it has in hand.
/// </summary>
public sealed class DeviceCapabilities
{
    private readonly Dictionary<Type, object> _byType = [];

    public static DeviceCapabilities None => new();

    public DeviceCapabilities With<T>(T capability) where T : class
    {
        _byType[typeof(T)] = capability;
        return this;
    }

    /// <summary>The capability, or null when the device does not have it.</summary>
    public T? Get<T>() where T : class => _byType.TryGetValue(typeof(T), out var c) ? (T)c : null;

    public bool Has<T>() where T : class => _byType.ContainsKey(typeof(T));

    /// <summary>The capabilities by name, for reports.</summary>
    public IReadOnlyList<string> Names => [.. _byType.Keys.Select(t => t.Name).Order()];
}
