using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.ModelBased;
using VirtioMq.Reference.Net;

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
        new(DeviceFault.AcceptPairsZero, new[] { "robust.mq.pairs-set-zero-rejected" }),
        new(DeviceFault.AcceptPairsAboveMax, new[] { "robust.mq.pairs-set-above-max-rejected" }),
        new(DeviceFault.RxOnDisabled, new[] { "net.mq.dev.rx-limit-after-used", "net.mq.dev.rx-q1-after-reset" }),
        new(DeviceFault.ResetKeepsPairs, new[] { "net.mq.dev.rx-q1-after-reset" }),
        new(DeviceFault.SwapRxTx, new[] { "net.vq.def.layout", "net.mq.def.vq-pairs-set" }),
        new(DeviceFault.RestoreLosesPairs, new[] { "net.mq.def.vq-pairs-set" }),
        new(DeviceFault.SteerAllToQ1, new[] { "net.mq.dev.follow-tx" }),
        new(DeviceFault.CvqAt2, new[] { "net.vq.def.layout" }),
        new(DeviceFault.SteerToMaxPairs, new[] { "net.mq.dev.rx-limit-after-used", "net.mq.dev.follow-tx", "net.mq.dev.rx-q1-after-reset" }),
        // Every frame the model sends goes out empty, so it is lost wherever the model expected it.
        new(DeviceFault.TxHeaderOwnDescriptor, new[] { "net.vq.def.layout", "net.mq.def.vq-pairs-set" }),
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
}
