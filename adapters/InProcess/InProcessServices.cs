using Microsoft.Extensions.DependencyInjection;
using VirtioMq.Adapters.Devices;

namespace VirtioMq.Adapters.InProcess;

public static class InProcessServices
{
    /// <summary>Registers <c>reference://</c>: the bundled reference device, in this process.</summary>
    public static IServiceCollection AddReferenceDevice(this IServiceCollection services) =>
        services.AddDeviceAdapter("reference", uri => new InProcessReferenceDevice(uri), buildsDevice: true);
}
