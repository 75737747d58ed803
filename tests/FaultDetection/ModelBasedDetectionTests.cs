using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.ModelBased;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// The model-based test knows no fault by name, yet must catch these on its own. It reports the first rule a random
/// sequence breaks, and some bugs break more than one (a device that delivers on disabled queues also does so right
/// after reset), so each fault lists the rules it may name.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class ModelBasedDetectionTests
{
    public static IEnumerable<TestCaseData> Expectations() =>
    [
        new(DeviceFault.AcceptPairsZero, new[] { Rule.RobustMqPairsSetZeroRejected }),
        new(DeviceFault.AcceptPairsAboveMax, new[] { Rule.RobustMqPairsSetAboveMaxRejected }),
        new(DeviceFault.RxOnDisabled, new[] { Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevRxQ1AfterReset }),
        new(DeviceFault.ResetKeepsPairs, new[] { Rule.NetMqDevRxQ1AfterReset }),
        new(DeviceFault.SwapRxTx, new[] { Rule.NetVqDefLayout, Rule.NetMqDefVqPairsSet }),
        new(DeviceFault.RestoreLosesPairs, new[] { Rule.NetMqDefVqPairsSet }),
        new(DeviceFault.SteerAllToQ1, new[] { Rule.NetMqDevFollowTx }),
        new(DeviceFault.CvqAt2, new[] { Rule.NetVqDefLayout }),
        new(DeviceFault.SteerToMaxPairs, new[] { Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevFollowTx, Rule.NetMqDevRxQ1AfterReset }),
        // Every frame the model sends goes out empty, so it is lost wherever the model expected it.
        new(DeviceFault.TxHeaderOwnDescriptor, new[] { Rule.NetVqDefLayout, Rule.NetMqDefVqPairsSet }),
    ];

    [Test, TestCaseSource(nameof(Expectations))]
    public void The_model_based_test_catches(DeviceFault fault, string[] requirementIds)
    {
        using var device = ZooDevice.Start(fault, ZooPlane.Device);
        var ctx = device.Context;
        var outcome = PropertyRunner.Run("model-based", ModelBasedTests.DeviceFollowsTheModel(ctx), ctx.Settings);
        Assert.That(outcome.Passed, Is.False, $"the model-based test passed {outcome.Cases} runs on fault {fault.Name()}");
        Assert.That(outcome.Violation?.RequirementId, Is.AnyOf(requirementIds), FailureReport.Format(outcome, ctx.Settings, "model-based"));
        Assert.That(outcome.ShrunkCase, Is.Not.Null.And.Not.Empty);
        TestContext.Out.WriteLine(FailureReport.Format(outcome, ctx.Settings, "model-based"));
    }

    [Test]
    public void The_model_based_test_says_how_many_commands_a_second_it_ran()
    {
        using var device = ZooDevice.Start(null, ZooPlane.Device);
        var ctx = device.Context;
        var outcome = PropertyRunner.Run("model-based", ModelBasedTests.DeviceFollowsTheModel(ctx), ctx.Settings, cases: 5);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, ctx.Settings, "model-based"));
        Assert.That(outcome.Note, Does.Match(@"\d+ model-based command\(s\) in 5 sequence\(s\) over [\d.]+ s: [\d.]+ command\(s\)/s"));
        TestContext.Out.WriteLine(outcome.Note);
    }
}
