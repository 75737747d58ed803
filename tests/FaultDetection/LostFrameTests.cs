using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// A device that loses frames it owes: every check that sends traffic must end its case on the first loss, naming
/// the rule the loss breaks, whatever rule the check is aimed at. Before, a SHOULD check (follow-tx) judged only
/// where frames landed and waited out a full timeout for each lost one, which over 100 cases is hours.
/// </summary>
[TestFixture]
public sealed class LostFrameTests
{
    [Test]
    public void The_follow_tx_check_ends_on_a_lost_frame_naming_the_rule_it_breaks()
    {
        // swap-rx-tx in the back-end: frames sent on transmitq1 (vq 1) are read as buffers to fill, never looped back.
        using var device = ZooDevice.Start(DeviceFault.SwapRxTx, ZooPlane.Backend, TimeSpan.FromMilliseconds(300));
        var check = QueueMappingTests.FollowTx;
        var outcome = device.Run(check);
        Assert.That(outcome.Passed, Is.False, $"follow-tx passed {outcome.Cases} case(s) on a back-end that loops nothing back");
        Assert.That(outcome.Violation?.RequirementId, Is.AnyOf(Rule.NetVqDefLayout, Rule.NetMqDefVqPairsSet),
            FailureReport.Format(outcome, device.Context.Settings, check.Test));
        Assert.That(outcome.Cases, Is.EqualTo(1), "the first case already loses its first frame");
    }
}
