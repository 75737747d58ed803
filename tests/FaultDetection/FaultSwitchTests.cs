using FsCheck;
using VirtioMq.Adapters.Devices;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.ModelBased;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Net;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// Proof that the conformance properties can fail: each fault switch of the reference device is a known
/// multiqueue bug, and the property aimed at it must fail on it, within the default case count, naming the rule.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class FaultSwitchTests
{
    public sealed record Expectation(DeviceFault Fault, string Property, Func<SuiteContext, Property> Run, string RequirementId)
    {
        public override string ToString() => $"{Fault.Name()} -> {Property} -> {RequirementId}";
    }

    public static IEnumerable<Expectation> Expectations() =>
    [
        new(DeviceFault.CvqAt2, "controlq placement", ControlqPlacementTests.ControlqAnswersOnlyAtItsIndex, "net.vq.def.layout"),
        new(DeviceFault.AcceptPairsZero, "out-of-range rejection", PairsRangeTests.OutOfRangePairCountsAreRejected, "robust.mq.pairs-set-zero-rejected"),
        new(DeviceFault.AcceptPairsAboveMax, "out-of-range rejection", PairsRangeTests.OutOfRangePairCountsAreRejected, "robust.mq.pairs-set-above-max-rejected"),
        new(DeviceFault.RxOnDisabled, "queue mapping", c => QueueMappingTests.Mapping(c, MandatoryMapping), "net.mq.dev.rx-limit-after-used"),
        new(DeviceFault.ResetKeepsPairs, "only receiveq1 after reset", ResetRestoreTests.OnlyReceiveq1AfterReset, "net.mq.dev.rx-q1-after-reset"),
        new(DeviceFault.SwapRxTx, "queue mapping", c => QueueMappingTests.Mapping(c, MandatoryMapping), "net.vq.def.layout"),
        new(DeviceFault.RestoreLosesPairs, "freeze/restore", ResetRestoreTests.FreezeRestoreKeepsPairs, "net.mq.def.vq-pairs-set"),
        new(DeviceFault.AckUnknownCommands, "unknown commands", ControlCommandTests.UnknownCommandsAreRejected, "robust.ctrl.unknown-command-rejected"),
        new(DeviceFault.ConsumeBeforeDriverOk, "nothing before DRIVER_OK", DeviceOperationTests.NothingIsConsumedBeforeDriverOk, "core.status.dev.no-use-before-driver-ok"),
        new(DeviceFault.MqWithoutCtrlVq, "config and dependencies", PairsRangeTests.ConfigRangeAndDependencies, "core.feat.dev.no-unsatisfied-dependency"),
        new(DeviceFault.MaxPairsZero, "config and dependencies", PairsRangeTests.ConfigRangeAndDependencies, "net.cfg.dev.max-pairs-range"),
        new(DeviceFault.SteerAllToQ1, "follow-tx steering", c => QueueMappingTests.Mapping(c, "net.mq.dev.follow-tx"), "net.mq.dev.follow-tx"),
        new(DeviceFault.ResetKeepsRings, "reset quiesces", DeviceOperationTests.ResetQuiesces, "core.reset.dev.quiesce"),
    ];

    private static readonly string[] MandatoryMapping = ["net.vq.def.layout", "net.mq.def.vq-pairs-set", "net.mq.dev.rx-limit-after-used"];

    /// <summary>
    /// The faults the model-based test must catch on its own, and the rules it may name: it reports the first
    /// rule a random sequence breaks, and some bugs break more than one (a device that delivers on disabled
    /// queues also does so right after reset).
    /// </summary>
    public static IEnumerable<TestCaseData> ModelBasedExpectations() =>
    [
        new(DeviceFault.AcceptPairsZero, new[] { "robust.mq.pairs-set-zero-rejected" }),
        new(DeviceFault.AcceptPairsAboveMax, new[] { "robust.mq.pairs-set-above-max-rejected" }),
        new(DeviceFault.RxOnDisabled, new[] { "net.mq.dev.rx-limit-after-used", "net.mq.dev.rx-q1-after-reset" }),
        new(DeviceFault.ResetKeepsPairs, new[] { "net.mq.dev.rx-q1-after-reset" }),
        new(DeviceFault.SwapRxTx, new[] { "net.vq.def.layout", "net.mq.def.vq-pairs-set" }),
        new(DeviceFault.RestoreLosesPairs, new[] { "net.mq.def.vq-pairs-set" }),
        new(DeviceFault.SteerAllToQ1, new[] { "net.mq.dev.follow-tx" }),
        new(DeviceFault.CvqAt2, new[] { "net.vq.def.layout" }),
    ];

    [Test, TestCaseSource(nameof(Expectations))]
    public void The_property_fails_on_the_faulty_device_naming_the_rule(Expectation e)
    {
        var ctx = Context(e.Fault);
        var outcome = PropertyRunner.Run(e.Property, e.Run(ctx), ctx.Settings);
        Assert.That(outcome.Passed, Is.False, $"{e.Property} passed {outcome.Cases} cases on a device with fault {e.Fault.Name()}");
        Assert.That(outcome.Violation?.RequirementId, Is.EqualTo(e.RequirementId), FailureReport.Format(outcome, ctx.Settings, e.Property));
        TestContext.Out.WriteLine(FailureReport.Format(outcome, ctx.Settings, e.Property));
    }

    [Test, TestCaseSource(nameof(Expectations))]
    public void The_property_passes_on_the_healthy_reference(Expectation e)
    {
        var ctx = Context(null);
        var outcome = PropertyRunner.Run(e.Property, e.Run(ctx), ctx.Settings);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, ctx.Settings, e.Property));
    }

    [Test, TestCaseSource(nameof(ModelBasedExpectations))]
    public void The_model_based_test_catches(DeviceFault fault, string[] requirementIds)
    {
        var ctx = Context(fault);
        var outcome = PropertyRunner.Run("model-based", ModelBasedTests.DeviceFollowsTheModel(ctx), ctx.Settings);
        Assert.That(outcome.Passed, Is.False, $"the model-based test passed {outcome.Cases} runs on fault {fault.Name()}");
        Assert.That(outcome.Violation?.RequirementId, Is.AnyOf(requirementIds), FailureReport.Format(outcome, ctx.Settings, "model-based"));
        Assert.That(outcome.ShrunkCase, Is.Not.Null.And.Not.Empty);
        TestContext.Out.WriteLine(FailureReport.Format(outcome, ctx.Settings, "model-based"));
    }

    [Test]
    public void Every_fault_switch_has_a_detecting_property() =>
        Assert.That(Expectations().Select(e => e.Fault).Distinct(), Is.EquivalentTo(DeviceFaults.All.Except(DeviceFaults.BackendOnly)));

    /// <summary>The default case count and a fresh random seed, as a user's run would have.</summary>
    private static SuiteContext Context(DeviceFault? fault) =>
        new(new SuiteSettings(DeviceUri.Parse(fault is { } f ? $"reference://?pairs=8&fault={f.Name()}" : "reference://?pairs=8"),
            SpecVersions.Primary, Cases: 100, Seed: null, Timeout: TimeSpan.FromSeconds(5)), DeviceServices.DefaultResolver());
}

/// <summary>A fault switch is worth what its source is: each one names the real bug it reproduces, or says it is synthetic.</summary>
[TestFixture]
public sealed class FaultSourceTests
{
    [Test]
    public void Every_fault_switch_names_its_source()
    {
        foreach (var f in DeviceFaults.All)
        {
            var s = FaultSources.Of(f);
            Assert.That(s.Project, Is.Not.Empty, f.Name());
            Assert.That(s.What, Is.Not.Empty, f.Name());
        }
        Assert.That(DeviceFaults.All.Count(f => FaultSources.Of(f).Project != "synthetic"), Is.GreaterThanOrEqualTo(15));
    }
}
