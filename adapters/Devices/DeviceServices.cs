using Microsoft.Extensions.DependencyInjection;

namespace VirtioMq.Adapters.Devices;

/// <summary>Opens a device from its URI: each adapter is one keyed factory, registered under its URI scheme.</summary>
public delegate IVirtioDevice DeviceFactory(DeviceUri uri);

public static class DeviceServices
{
    /// <summary>Registers <c>vhost-user://</c>: a back-end behind the suite's own front-end.</summary>
    public static IServiceCollection AddVhostUserDevice(this IServiceCollection services) =>
        services.AddDeviceAdapter("vhost-user", uri => new VhostUser.VhostUserDevice(uri));

    /// <param name="buildsDevice">
    /// True when the adapter builds the device from its URI, max_virtqueue_pairs included (<c>pairs=</c>), so the
    /// suite may choose it; false when the device is what it is (a back-end, a VMM) and the suite takes its value.
    /// </param>
    public static IServiceCollection AddDeviceAdapter(this IServiceCollection services, string scheme, DeviceFactory factory, bool buildsDevice = false)
    {
        services.AddKeyedSingleton(scheme, factory);
        services.AddSingleton(new AdapterScheme(scheme, buildsDevice));
        return services;
    }
}

/// <summary>A registered URI scheme, so an unknown one can be answered with the list of known ones.</summary>
public sealed record AdapterScheme(string Name, bool BuildsDevice);

public sealed class DeviceResolver(IServiceProvider services)
{
    public IVirtioDevice Open(string uriText) => Open(DeviceUri.Parse(uriText));

    public IVirtioDevice Open(DeviceUri uri)
    {
        var factory = services.GetKeyedService<DeviceFactory>(uri.Scheme)
            ?? throw new NotSupportedException($"no adapter for device URI scheme '{uri.Scheme}://' in '{uri}'; known schemes: {string.Join(", ", KnownSchemes)}");
        return factory(uri);
    }

    /// <summary>Whether the adapter of <paramref name="uri"/> builds its device to order, so the suite may choose max_virtqueue_pairs.</summary>
    public bool BuildsDevice(DeviceUri uri) => services.GetServices<AdapterScheme>().Any(s => s.Name == uri.Scheme && s.BuildsDevice);

    public IReadOnlyList<string> KnownSchemes => services.GetServices<AdapterScheme>().Select(s => s.Name + "://").ToList();
}
