using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// The ring-enable check fails on the enable bugs by itself, with its default case count: the zoo's detection test stops
/// at the first check that names a variant's rule, which is another one. Each case now hands all nine enable histories
/// of a pair's two rings to pairs in a random order (over as many sessions as the back-end's pairs need), so the first
/// case meets the histories these bugs break.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class RingEnableDetectionTests
{
    [TestCase(DeviceFault.EnableIndexPerPair, new[] { Rule.VuRingDisabledRxNoPackets, Rule.VuMqEnablePerRing, Rule.VuRingDisabledTxDiscard })]
    [TestCase(DeviceFault.RingsStartEnabled, new[] { Rule.VuRingDisabledRxNoPackets, Rule.VuRingDisabledTxDiscard })]
    public void The_check_fails_naming_the_rule(DeviceFault fault, string[] rules)
    {
        using var device = ZooDevice.Start(fault, ZooPlane.Backend);
        var check = VhostUserRingEnableTests.EnablePerRing;
        var outcome = device.Run(check);
        var report = FailureReport.Format(outcome, device.Context.Settings, check.Test);
        Assert.That(outcome.Passed, Is.False, $"passed {outcome.Cases} case(s) on {fault.Name()}");
        Assert.That(outcome.Violation?.RequirementId, Is.AnyOf(rules), report);
        Assert.That(outcome.Cases, Is.EqualTo(1), report);
        TestContext.Out.WriteLine(report);
    }
}
