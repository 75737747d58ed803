using VirtioMq.Adapters.Devices;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// The suite's context for one device URI, as the tests of the suite build it: virtio 1.4, a fresh seed, and every
/// device adapter, the masked:// test double among them.
/// </summary>
public static class TestContexts
{
    public static SuiteContext For(string uri, int cases = 100, TimeSpan? timeout = null) =>
        new(new SuiteSettings(DeviceUri.Parse(uri), SpecVersions.Primary, cases, Seed: null, timeout ?? TimeSpan.FromSeconds(5)),
            MaskedReferenceDevice.Resolver());
}
