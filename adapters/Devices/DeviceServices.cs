using Microsoft.Extensions.DependencyInjection;

namespace VirtioMq.Adapters.Devices;

/// <summary>Opens a device from its URI: each adapter is one keyed factory, registered under its URI scheme.</summary>
public delegate IVirtioDevice DeviceFactory(DeviceUri uri);

public static class DeviceServices
{
    /// <summary>Registers <c>vhost-user://</c>: a back-end behind the suite's own front-end.</summary>
    public static IServiceCollection AddVhostUserDevice(this IServiceCollection services) =>
        services.AddDeviceAdapter("vhost-user", uri => new VhostUser.VhostUserDevice(uri));

    /// <summary>Registers <c>qemu://</c>: QEMU's own virtio-net-pci, started per session and driven over qtest.</summary>
    public static IServiceCollection AddQemuDevice(this IServiceCollection services) =>
        services.AddDeviceAdapter("qemu", uri => new Qemu.QemuDevice(uri), Qemu.QemuOptions.BuildablePairs);

    /// <param name="buildsDevice">
    /// True when the adapter builds the device from its URI, max_virtqueue_pairs included (<c>pairs=</c>), so the
    /// suite may choose it; false when the device is what it is (a back-end, a VMM) and the suite takes its value.
    /// </param>
    public static IServiceCollection AddDeviceAdapter(this IServiceCollection services, string scheme, DeviceFactory factory, bool buildsDevice = false) =>
        services.AddDeviceAdapter(scheme, factory, _ => buildsDevice ? Spec.NetControl.VqPairsMax : 0);

    /// <param name="buildablePairs">The most max_virtqueue_pairs the adapter can build a device with for a URI, 0 when it cannot choose.</param>
    public static IServiceCollection AddDeviceAdapter(this IServiceCollection services, string scheme, DeviceFactory factory, Func<DeviceUri, int> buildablePairs)
    {
        services.AddKeyedSingleton(scheme, factory);
        services.AddSingleton(new AdapterScheme(scheme, buildablePairs));
        return services;
    }
}

/// <summary>A registered URI scheme, so an unknown one can be answered with the list of known ones.</summary>
/// <param name="BuildablePairs">The most queue pairs the adapter can build its device with for a URI; 0 when the device is what it is.</param>
public sealed record AdapterScheme(string Name, Func<DeviceUri, int> BuildablePairs);

public sealed class DeviceResolver(IServiceProvider services)
{
    public IVirtioDevice Open(string uriText) => Open(DeviceUri.Parse(uriText));

    public IVirtioDevice Open(DeviceUri uri)
    {
        var factory = services.GetKeyedService<DeviceFactory>(uri.Scheme)
            ?? throw new NotSupportedException($"no adapter for device URI scheme '{uri.Scheme}://' in '{uri}'; known schemes: {string.Join(", ", KnownSchemes)}");
        return factory(uri);
    }

    /// <summary>
    /// The most max_virtqueue_pairs the adapter of <paramref name="uri"/> can build its device with, so the suite may choose
    /// the value up to it; 0 when the device is what it is.
    /// </summary>
    public int BuildablePairs(DeviceUri uri) => services.GetServices<AdapterScheme>().FirstOrDefault(s => s.Name == uri.Scheme)?.BuildablePairs(uri) ?? 0;

    public IReadOnlyList<string> KnownSchemes => services.GetServices<AdapterScheme>().Select(s => s.Name + "://").ToList();
}
