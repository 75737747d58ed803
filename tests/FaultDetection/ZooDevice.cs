using VirtioMq.Adapters.Devices;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>Where a zoo variant runs: the in-process reference device, or the reference vhost-user back-end behind the suite's front-end.</summary>
public enum ZooPlane { Device, Backend }

/// <summary>
/// The reference device with one zoo fault (or none) switched on, in one plane, and the suite's context for it:
/// in-process through <c>reference://?fault=NAME</c>, or the back-end serving a real socket on a thread of this
/// process, exactly as <c>serve --fault NAME</c> would. The context's drivers use split or packed rings
/// (<see cref="SuiteContext.WithFormat"/>), as a run with VIRTIO_RING=split or packed would. Disposing stops the back-end.
/// </summary>
public sealed class ZooDevice : IDisposable
{
    /// <summary>max_virtqueue_pairs of every zoo device: the suite's default reference.</summary>
    public const int Pairs = 8;

    private readonly RunningBackend? _backend;

    private ZooDevice(SuiteContext context, RunningBackend? backend)
    {
        Context = context;
        _backend = backend;
    }

    public SuiteContext Context { get; }

    public ZooPlane Plane => _backend is null ? ZooPlane.Device : ZooPlane.Backend;

    /// <summary>The virtqueue format the context's drivers negotiate.</summary>
    public RingFormat Format => Context.Format;

    /// <summary>
    /// The checks of the suite that can see a bug of this device: all of them in-process; over vhost-user those that
    /// judge the data plane, since the control plane there is the suite's own front-end. Of those, the ones that judge
    /// this device's ring format (split-only checks do not run on packed rings, nor packed-only ones on split rings).
    /// </summary>
    public IEnumerable<SuiteCheck> Checks => SuiteChecks.All
        .Where(c => Plane == ZooPlane.Device ? !c.VhostUserOnly : c.JudgesBackEnds)
        .Where(c => Format == RingFormat.Packed ? c.SplitOnly is null : !c.PackedOnly);

    /// <summary>Whether <paramref name="check"/> names <paramref name="rule"/> on this device's rings, itself or as the packed counterpart of a split rule.</summary>
    public bool Names(SuiteCheck check, string rule) => check.RequirementIds.Any(id => FormatCounterparts.In(Format, id) == rule);

    /// <summary>What the back-end logged (empty in-process), for failure messages.</summary>
    public IReadOnlyList<string> BackendLog => _backend?.LogLines ?? [];

    /// <param name="timeout">The suite's patience; the default is a user's default run.</param>
    /// <param name="format">The virtqueue format the suite's drivers negotiate (the reference offers both).</param>
    public static ZooDevice Start(DeviceFault? fault, ZooPlane plane, TimeSpan? timeout = null, RingFormat format = RingFormat.Split)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(5);
        SuiteContext For(string uri) =>
            new SuiteContext(new SuiteSettings(DeviceUri.Parse(uri), SpecVersions.Primary, Cases: 100, Seed: null, Timeout: wait), SuiteDevices.Resolver())
                .WithFormat(format);
        if (plane == ZooPlane.Device)
            return new ZooDevice(For(fault is { } f ? $"reference://?pairs={Pairs}&fault={f.Name()}" : $"reference://?pairs={Pairs}"), null);
        var faults = fault is { } g ? new HashSet<DeviceFault> { g } : new HashSet<DeviceFault>();
        var backend = new RunningBackend(RunningBackend.NewSocketPath("zoo"), new ReferenceOptions(Pairs).WithFaults(faults));
        var ms = ((int)wait.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ZooDevice(For($"vhost-user://{backend.SocketPath}?pairs={Pairs}&timeout-ms={ms}"), backend);
    }

    /// <summary>
    /// Runs one check with its default case count, as a user's run would. A check that cannot even build its
    /// property (some read the device first) fails with that error instead of throwing. On packed rings a violation of a
    /// split rule is reported as its packed counterpart, as the suite's run reports it.
    /// </summary>
    public PropertyOutcome Run(SuiteCheck check, Action<int>? afterCase = null, int? maxShrinks = null)
    {
        FsCheck.Property property;
        try
        {
            property = check.Property(Context);
        }
        catch (NUnit.Framework.IgnoreException e)
        {
            // The check found, before any case, that the device lacks what its rules need (a feature it does not offer).
            return new PropertyOutcome(check.Test, true, 0, 0, default, null, null, null, null)
            { NotApplicable = new Dictionary<string, int> { [e.Message] = 1 } };
        }
        catch (Exception e)
        {
            return new PropertyOutcome(check.Test, false, 0, 0, default, null, null, null, e.ToString());
        }
        var outcome = PropertyRunner.Run(check.Test, property, Context.Settings, check.Cases, afterCase, maxShrinks);
        return outcome.Violation is { } v && FormatCounterparts.In(Format, v.RequirementId) is var id && id != v.RequirementId
            ? outcome with { Violation = v with { RequirementId = id } }
            : outcome;
    }

    public void Dispose() => _backend?.Dispose();
}
