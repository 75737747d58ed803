using System.Diagnostics;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// Proof for the 16-bit index wrap: a device whose rings stall when avail idx passes 65535 → 0 fails the wrap check
/// naming ring.avail.dev.idx-wrap, in-process (after 65,536 buffers) and as a vhost-user back-end (rings resumed just
/// below the wrap with SET_VRING_BASE); the healthy reference passes both checks in both planes. Over vhost-user the
/// controlq check runs the suite's own front-end, which must pass too.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class IndexWrapDetectionTests
{
    private static SuiteCheck Data => IndexWrapTests.DataRings;
    private static SuiteCheck Controlq => IndexWrapTests.Controlq;

    [TestCase(ZooPlane.Device)]
    [TestCase(ZooPlane.Backend)]
    public void A_device_that_compares_indices_as_integers_fails_naming_the_wrap(ZooPlane plane)
    {
        using var device = ZooDevice.Start(DeviceFault.IdxWrapStall, plane, TimeSpan.FromSeconds(1));
        var outcome = device.Run(Data);
        Assert.That(outcome.Passed, Is.False, $"the wrap check passed {outcome.Cases} case(s) on a device that stalls at the wrap ({plane})");
        Assert.That(outcome.Violation?.RequirementId, Is.EqualTo(IndexWrapTests.AvailWrap), FailureReport.Format(outcome, device.Context.Settings, Data.Test));
        Assert.That(outcome.Cases, Is.EqualTo(1), "every case crosses the wrap, so the first one already fails");
        TestContext.Out.WriteLine(FailureReport.Format(outcome, device.Context.Settings, Data.Test));
    }

    [Test]
    public void In_process_the_controlq_of_such_a_device_fails_naming_the_wrap()
    {
        using var device = ZooDevice.Start(DeviceFault.IdxWrapStall, ZooPlane.Device);
        var outcome = device.Run(Controlq);
        Assert.That(outcome.Violation?.RequirementId, Is.EqualTo(IndexWrapTests.AvailWrap), FailureReport.Format(outcome, device.Context.Settings, Controlq.Test));
        TestContext.Out.WriteLine(FailureReport.Format(outcome, device.Context.Settings, Controlq.Test));
    }

    [Test]
    public void Over_vhost_user_a_ring_starts_at_the_index_the_driver_chose_and_stops_past_the_wrap()
    {
        // The start index reaches the back-end as SET_VRING_BASE: after 10 frames from 65530 the back-end's own
        // next avail index (GET_VRING_BASE) has wrapped to 4, and the used idx it published agrees.
        using var device = ZooDevice.Start(null, ZooPlane.Backend);
        using var s = device.Context.Open();
        var d = new NetDriver(s.Device, device.Context.DriverOptions with { DataRingStartIndex = 65530 });
        d.Initialize(pairs: 1);
        var tx = d.Queue(NetQueueLayout.Transmitq(1));
        for (var i = 0; i < 10; i++) Assert.That(d.SendAndLocate(1, flow: i, d.Options.Timeout), Is.EqualTo(1), $"frame {i}");
        Assert.That(d.TryWaitUntil(() => tx.DeviceUsedIdx == tx.PublishedIdx, d.Options.Timeout), $"used idx {tx.DeviceUsedIdx}, avail idx {tx.PublishedIdx}");
        Assert.That(tx.PublishedIdx, Is.EqualTo((ushort)4));
        Assert.That(s.Device.Capabilities.Get<VirtioMq.Adapters.Devices.Capabilities.IRingSuspension>()!.Stop(tx.Index), Is.EqualTo((ushort)4));
    }

    [Test]
    public void Over_vhost_user_the_controlq_check_judges_the_front_end_not_a_back_end_that_stalls()
    {
        // The back-end's rings stall at the wrap, but the controlq check moves only the controlq (the suite's own
        // front-end) to the wrap: its frames cross data rings at 0, so the back-end's bug is not laid at its door.
        using var device = ZooDevice.Start(DeviceFault.IdxWrapStall, ZooPlane.Backend, TimeSpan.FromSeconds(1));
        Assert.That(Controlq.JudgesBackEnds, Is.False, "the controlq check is a Control-plane check");
        var outcome = device.Run(Controlq);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, device.Context.Settings, Controlq.Test));
    }

    [TestCase(ZooPlane.Device, "data")]
    [TestCase(ZooPlane.Device, "controlq")]
    [TestCase(ZooPlane.Backend, "data")]
    [TestCase(ZooPlane.Backend, "controlq")]
    public void The_healthy_reference_crosses_the_wrap_on_every_ring_kind(ZooPlane plane, string ring)
    {
        using var device = ZooDevice.Start(null, plane);
        var check = ring == "data" ? Data : Controlq;
        var clock = Stopwatch.StartNew();
        var outcome = device.Run(check);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, device.Context.Settings, check.Test) +
            "\nback-end log:\n" + string.Join("\n", device.BackendLog.TakeLast(20)));
        // Each case takes its rings across the wrap once: in-process 65,536+ buffers per ring, over vhost-user a few hundred.
        TestContext.Out.WriteLine($"{check.Test} ({plane}): {outcome.Cases} case(s) in {clock.Elapsed.TotalMilliseconds:0} ms, " +
            $"{clock.Elapsed.TotalMilliseconds / Math.Max(1, outcome.Cases):0} ms per case");
    }
}
