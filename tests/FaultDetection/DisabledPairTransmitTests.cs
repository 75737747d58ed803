using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;
using static VirtioMq.Conformance.Rules.TransmitCompletionTests;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// Issue 13, class 9: the transmit buffers of frames sent on a pair not in use (Linux's restore window) were never
/// checked to come back used in-process. With disabled-tx-kept (a device that drops those frames and keeps their
/// buffers) the check fails naming the rule, in each plane; the healthy reference passes in both.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class DisabledPairTransmitTests
{
    private static SuiteCheck Check => TransmitCompletionTests.DisabledPairBuffersBack;

    [TestCase(ZooPlane.Device, Rule.RingUsedDefReturnsBuffers)]
    [TestCase(ZooPlane.Backend, Rule.VuRingDisabledTxDiscard)]
    public void The_check_fails_on_a_device_that_keeps_them(ZooPlane plane, string rule)
    {
        using var device = ZooDevice.Start(DeviceFault.DisabledTxKept, plane);
        var outcome = device.Run(Check);
        var report = FailureReport.Format(outcome, device.Context.Settings, Check.Test);
        Assert.That(outcome.Passed, Is.False, $"passed {outcome.Cases} case(s) on disabled-tx-kept ({plane})");
        Assert.That(outcome.Violation?.RequirementId, Is.EqualTo(rule), report);
        Assert.That(outcome.Cases, Is.EqualTo(1), "every case meets every window, so the first one fails");
        // Shrunk to the first window, where the driver did nothing wrong, and to a single frame.
        Assert.That(outcome.ShrunkCase, Does.StartWith("VQ_PAIRS_SET(").And.Contains("1 frame(s) made available"), report);
        TestContext.Out.WriteLine(report);
    }

    /// <summary>
    /// Each window on its own: in-process the frames the driver was forbidden to send make a robustness finding, the ones
    /// it queued while the pair was in use a failure of the binding rule.
    /// </summary>
    [TestCase(DisabledWindow.QueuedBeforeVqPairsSet, Rule.RingUsedDefReturnsBuffers)]
    [TestCase(DisabledWindow.SentAfterVqPairsSet, Rule.RobustRingDisabledTxReturned)]
    [TestCase(DisabledWindow.RestoreWindow, Rule.RobustRingDisabledTxReturned)]
    public void Each_window_is_judged_in_process(DisabledWindow window, string rule)
    {
        var c = new DisabledCase(window, window == DisabledWindow.RestoreWindow ? 1 : 2, 3, 5);
        using (var healthy = ZooDevice.Start(null, ZooPlane.Device)) JudgeDisabledPair(healthy.Context, c);
        using var device = ZooDevice.Start(DeviceFault.DisabledTxKept, ZooPlane.Device);
        var e = Assert.Throws<ConformanceViolationException>(() => JudgeDisabledPair(device.Context, c));
        Assert.That(e!.Violation.RequirementId, Is.EqualTo(rule), e.Message);
        Assert.That(e.Message, Does.Contain("holds 5"), e.Message);
    }

    [TestCase(ZooPlane.Device)]
    [TestCase(ZooPlane.Backend)]
    public void The_healthy_reference_passes(ZooPlane plane)
    {
        using var device = ZooDevice.Start(null, plane);
        var outcome = device.Run(Check);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, device.Context.Settings, Check.Test) +
            "\nback-end log:\n" + string.Join("\n", device.BackendLog.TakeLast(20)));
        Assert.That(outcome.Cases, Is.EqualTo(Check.Cases));
    }
}
