using Microsoft.Extensions.DependencyInjection;
using VirtioMq.Adapters.InProcess;

namespace VirtioMq.Adapters.Devices;

/// <summary>Opens a device from its URI: each adapter is one keyed factory, registered under its URI scheme.</summary>
public delegate IVirtioDevice DeviceFactory(DeviceUri uri);

public static class DeviceServices
{
    /// <summary>Registers every bundled adapter. A new adapter is one class and one line here.</summary>
    public static IServiceCollection AddVirtioDevices(this IServiceCollection services)
    {
        services.AddDeviceAdapter("reference", uri => new InProcessReferenceDevice(uri));
        services.AddDeviceAdapter("vhost-user", uri => new VhostUser.VhostUserDevice(uri));
        services.AddSingleton<DeviceResolver>();
        return services;
    }

    public static IServiceCollection AddDeviceAdapter(this IServiceCollection services, string scheme, DeviceFactory factory)
    {
        services.AddKeyedSingleton(scheme, factory);
        services.AddSingleton(new AdapterScheme(scheme));
        return services;
    }

    /// <summary>A ready resolver with the bundled adapters, for callers that have no container of their own.</summary>
    public static DeviceResolver DefaultResolver() =>
        new ServiceCollection().AddVirtioDevices().BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true })
            .GetRequiredService<DeviceResolver>();
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
