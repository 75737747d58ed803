using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;
using VirtioMq.Tests.FaultDetection;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// A vhost-user back-end that does not offer VIRTIO_NET_F_MQ (one queue pair, no multiqueue) once came out
/// "CERTIFIED" because the multiqueue checks returned early and read as passes. The device model behind the suite's
/// front-end offers MQ only when the back-end does, the multiqueue checks end not applicable with their reason,
/// and the verdict says there is no multiqueue to certify.
/// </summary>
[TestFixture]
public sealed class SingleQueueBackendTests
{
    [Test]
    public void A_back_end_without_MQ_gets_a_verdict_that_says_so()
    {
        using var backend = new RunningBackend(RunningBackend.NewSocketPath("sq"), new ReferenceOptions(1, Multiqueue: false));
        var ctx = TestContexts.For($"vhost-user://{backend.SocketPath}", cases: 10);
        var check = PairsRangeTests.EveryPairCount;
        var outcome = PropertyRunner.Run(check.Test, check.Property(ctx), ctx.Settings, 10);
        var record = Suite.Record(outcome, check.Test, "F", check.RequirementIds, "data", ctx.Settings, check.Test);
        var report = ReportBuilder.Build([record], RequirementCatalogue.Default, SpecVersions.Primary, ctx.Device.Text,
            new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, "1.0.0", "0", run: new RunConditions(MultiqueueOffered: DeviceFacts.Of(ctx).Offered.Has(FeatureBit.NetMq)));
        Assert.Multiple(() =>
        {
            Assert.That(DeviceFacts.Of(ctx).Offered.Has(FeatureBit.NetMq), Is.False, "the device model offered MQ the back-end does not have");
            Assert.That(record.Outcome, Is.EqualTo(CheckOutcome.NotApplicable), record.Message);
            Assert.That(record.Reason, Does.Contain("VIRTIO_NET_F_MQ"));
            Assert.That(report.Certified, Is.False);
            Assert.That(report.NotCertifiedBecause.Select(b => b.Kind), Is.EqualTo(new[] { "no-multiqueue" }));
        });
    }
}
