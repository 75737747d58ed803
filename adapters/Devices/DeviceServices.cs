using Microsoft.Extensions.DependencyInjection;

namespace VirtioMq.Adapters.Devices;

/// <summary>Opens a device from its URI: each adapter is one keyed factory, registered under its URI scheme.</summary>
public delegate IVirtioDevice DeviceFactory(DeviceUri uri);

public static class DeviceServices
{
    /// <summary>Registers <c>vhost-user://</c>: a back-end behind the suite's own front-end.</summary>
    public static IServiceCollection AddVhostUserDevice(this IServiceCollection services) =>
        services.AddDeviceAdapter("vhost-user", uri => new VhostUser.VhostUserDevice(uri));

    public static IServiceCollection AddDeviceAdapter(this IServiceCollection services, string scheme, DeviceFactory factory)
    {
        services.AddKeyedSingleton(scheme, factory);
        services.AddSingleton(new AdapterScheme(scheme));
        return services;
    }
}

/// <summary>A registered URI scheme, so an unknown one can be answered with the list of known ones.</summary>
public sealed record AdapterScheme(string Name);

public sealed class DeviceResolver(IServiceProvider services)
{
    public IVirtioDevice Open(string uriText) => Open(DeviceUri.Parse(uriText));

    public IVirtioDevice Open(DeviceUri uri)
    {
        var factory = services.GetKeyedService<DeviceFactory>(uri.Scheme)
            ?? throw new NotSupportedException($"no adapter for device URI scheme '{uri.Scheme}://' in '{uri}'; known schemes: {string.Join(", ", KnownSchemes)}");
        return factory(uri);
    }

    public IReadOnlyList<string> KnownSchemes => services.GetServices<AdapterScheme>().Select(s => s.Name + "://").ToList();
}
