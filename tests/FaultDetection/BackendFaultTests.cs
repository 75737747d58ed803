using FsCheck;
using VirtioMq.Adapters.Devices;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// The same proof over a real vhost-user socket: each fault a back-end can have is switched on in the
/// reference back-end, and the property aimed at it must fail through the suite's front-end, naming the rule.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class BackendFaultTests
{
    public sealed record Expectation(DeviceFault Fault, string Property, Func<SuiteContext, Property> Run, string RequirementId, int Cases = 100)
    {
        public override string ToString() => $"{Fault.Name()} -> {Property} -> {RequirementId}";
    }

    private static readonly string[] MandatoryMapping = ["net.vq.def.layout", "net.mq.def.vq-pairs-set", "net.mq.dev.rx-limit-after-used"];

    public static IEnumerable<Expectation> Expectations() =>
    [
        new(DeviceFault.RxOnDisabled, "queue mapping", c => QueueMappingTests.Mapping(c, MandatoryMapping), "net.mq.dev.rx-limit-after-used"),
        new(DeviceFault.SwapRxTx, "queue mapping", c => QueueMappingTests.Mapping(c, MandatoryMapping), "net.vq.def.layout"),
        new(DeviceFault.SteerAllToQ1, "follow-tx steering", c => QueueMappingTests.Mapping(c, "net.mq.dev.follow-tx"), "net.mq.dev.follow-tx"),
        new(DeviceFault.ResetKeepsPairs, "only receiveq1 after reset", ResetRestoreTests.OnlyReceiveq1AfterReset, "net.mq.dev.rx-q1-after-reset"),
        new(DeviceFault.MaxPairsZero, "GET_QUEUE_NUM", VhostUserDataPlaneTests.QueueNumIsTruthful, "vu.mq.get-queue-num-reply", 10),
        new(DeviceFault.QueueNumLies, "GET_QUEUE_NUM", VhostUserDataPlaneTests.QueueNumIsTruthful, "vu.mq.get-queue-num-reply", 100),
        new(DeviceFault.DisabledTxStalls, "disabled rings", VhostUserDataPlaneTests.DisabledRingsAreDrainedAndSilent, "vu.ring.disabled-tx-discard", 20),
        new(DeviceFault.GetBaseKeepsRunning, "stop and resume", VhostUserDataPlaneTests.StopAndResumeLosesNothing, "vu.ring.stop-on-get-base", 20),
        new(DeviceFault.GetBaseOffByOne, "stop and resume", VhostUserDataPlaneTests.StopAndResumeLosesNothing, "vu.get-base.reply-last-avail", 20),
        new(DeviceFault.NoMqProtocolFeature, "MQ protocol feature", VhostUserDataPlaneTests.OffersMqProtocolFeature, "vu.mq.protocol-feature-advertised", 1),
    ];

    [Test, TestCaseSource(nameof(Expectations))]
    public void The_property_fails_over_the_socket_naming_the_rule(Expectation e)
    {
        using var backend = new RunningBackend(RunningBackend.NewSocketPath("fault"), new ReferenceOptions(8, new HashSet<DeviceFault> { e.Fault }));
        var ctx = Context(backend, e.Cases);
        var outcome = PropertyRunner.Run(e.Property, e.Run(ctx), ctx.Settings);
        Assert.That(outcome.Passed, Is.False, $"{e.Property} passed {outcome.Cases} cases on a back-end with fault {e.Fault.Name()}");
        Assert.That(outcome.Violation?.RequirementId, Is.EqualTo(e.RequirementId), FailureReport.Format(outcome, ctx.Settings, e.Property));
        TestContext.Out.WriteLine(FailureReport.Format(outcome, ctx.Settings, e.Property));
    }

    [Test, TestCaseSource(nameof(Expectations))]
    public void The_property_passes_over_the_socket_on_the_healthy_back_end(Expectation e)
    {
        using var backend = new RunningBackend(RunningBackend.NewSocketPath("healthy"), new ReferenceOptions(8));
        var ctx = Context(backend, e.Cases);
        var outcome = PropertyRunner.Run(e.Property, e.Run(ctx), ctx.Settings);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, ctx.Settings, e.Property) + "\nback-end log:\n" + string.Join("\n", backend.LogLines.TakeLast(20)));
    }

    [Test]
    public void Every_back_end_fault_has_a_detecting_property() =>
        Assert.That(Expectations().Select(e => e.Fault).Distinct(), Is.EquivalentTo(VhostUserBackend.BackendFaults));

    private static SuiteContext Context(RunningBackend backend, int cases) =>
        new(new SuiteSettings(DeviceUri.Parse($"vhost-user://{backend.SocketPath}?pairs=8"), SpecVersions.Primary, Cases: cases, Seed: null,
            Timeout: TimeSpan.FromSeconds(5)), DeviceServices.DefaultResolver());
}
