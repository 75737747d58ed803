using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// The any-protocol steering checks fail on steering bugs by themselves, with their default case counts: the zoo's
/// detection test stops at the first check that names a variant's rule, which may be another one.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class AnyProtocolSteeringDetectionTests
{
    [TestCase(DeviceFault.SteerToMaxPairs, nameof(AnyProtocolSteeringTests.Frames_of_any_protocol_come_back_only_on_enabled_receive_queues),
        new[] { Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevRxQ1AfterReset })]
    [TestCase(DeviceFault.SteerAllToQ1, nameof(AnyProtocolSteeringTests.Frames_of_any_protocol_follow_their_transmitq),
        new[] { Rule.NetMqDevFollowTx })]
    public void The_check_fails_naming_the_rule(DeviceFault fault, string test, string[] rules)
    {
        using var device = ZooDevice.Start(fault, ZooPlane.Device);
        var check = SuiteChecks.All.Single(c => c.Test == test);
        var outcome = device.Run(check);
        Assert.That(outcome.Passed, Is.False, $"{test} passed {outcome.Cases} case(s) on {fault.Name()}");
        Assert.That(outcome.Violation?.RequirementId, Is.AnyOf(rules), FailureReport.Format(outcome, device.Context.Settings, test));
    }
}
