using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// Everything a property needs to reach the device under test: the settings, the adapter registry and a way
/// to open a fresh device. Tests of the suite build their own context around a faulty device.
/// </summary>
public sealed class SuiteContext(SuiteSettings settings, DeviceResolver resolver)
{
    public static SuiteContext Current => _current ??= new SuiteContext(SuiteSettings.Current, SuiteDevices.Resolver());
    private static SuiteContext? _current;

    public SuiteSettings Settings { get; } = settings;
    public DeviceUri Device => Settings.Device;
    public SpecVersion Version => Settings.Version;
    public DriverOptions DriverOptions => new() { Timeout = Settings.Timeout, Ring = Format };

    /// <summary>The virtqueue format this context's drivers negotiate; a run judges each check once per format (<see cref="RingChoice"/>).</summary>
    public RingFormat Format { get; private init; } = RingFormat.Split;

    /// <summary>
    /// Whether the suite may pick max_virtqueue_pairs itself: true where the adapter builds the device from its URI
    /// (the bundled reference); a real device has the value it has.
    /// </summary>
    public bool CanChoosePairs => PairsCeiling > 0;

    /// <summary>The most max_virtqueue_pairs the adapter can build (0x8000 for the reference, 256 for QEMU with a tap), 0 when it cannot choose.</summary>
    public int PairsCeiling => resolver.BuildablePairs(Device);

    /// <summary>Opens the device under test (with <paramref name="pairs"/> max pairs where the device allows choosing) and a driver for it.</summary>
    public DriverSession Open(int? pairs = null)
    {
        var uri = pairs is { } p && CanChoosePairs ? Device.With("pairs", p.ToString(System.Globalization.CultureInfo.InvariantCulture)) : Device;
        var device = resolver.Open(uri);
        return new DriverSession(device, new NetDriver(device, DriverOptions));
    }

    public SuiteContext With(DeviceUri device) => new(Settings with { Device = device }, resolver) { Format = Format };
    public SuiteContext WithCases(int cases) => new(Settings with { Cases = cases }, resolver) { Format = Format };
    public SuiteContext WithFormat(RingFormat format) => new(Settings, resolver) { Format = format };
}

/// <summary>An open device and the suite's driver for it; disposing closes the device.</summary>
public sealed record DriverSession(IVirtioDevice Device, NetDriver Driver) : IDisposable
{
    private bool _disposed;

    /// <summary>Closes the device once; a second call (a failed model-based step, then its teardown) does nothing.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Device.Dispose();
    }
}
