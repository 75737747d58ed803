using Microsoft.Extensions.DependencyInjection;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.InProcess;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>The devices a run can reach, by URI scheme: the composition root of the suite's adapters.</summary>
public static class SuiteDevices
{
    /// <summary>Every adapter the suite ships. A new adapter is one class in adapters/ and one line here.</summary>
    public static IServiceCollection AddSuiteDevices(this IServiceCollection services) =>
        services.AddReferenceDevice()
            .AddVhostUserDevice()
            .AddQemuDevice()
            .AddSingleton<DeviceResolver>();

    /// <summary>A ready resolver with every adapter, for callers that have no container of their own.</summary>
    public static DeviceResolver Resolver() =>
        new ServiceCollection().AddSuiteDevices().BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true })
            .GetRequiredService<DeviceResolver>();
}
