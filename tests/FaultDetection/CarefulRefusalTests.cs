using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// Issue 13, class 5: a back-end that refused SET_VRING_ADDR for a ring outside guest memory with a non-zero REPLY_ACK
/// did what robust.ring.queue-outside-memory-refused asks, and got a robustness finding. The reference back-end with
/// --check-ring-addresses answers that way; the check must pass it, as it passes the back-end that refuses the ring
/// later, when a kick starts it. A careful answer is never a finding; the masked device that reads past memory still is
/// (MaskedDeviceDetectionTests).
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class CarefulRefusalTests
{

    private static (RunningBackend Backend, SuiteContext Context) Serve(bool checkRingAddresses)
    {
        var backend = new RunningBackend(RunningBackend.NewSocketPath("careful"), new ReferenceOptions(ZooDevice.Pairs) { CheckRingAddresses = checkRingAddresses });
        var ctx = TestContexts.For($"vhost-user://{backend.SocketPath}?pairs={ZooDevice.Pairs}");
        return (backend, ctx);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void A_ring_past_memory_refused_either_way_passes(bool checkRingAddresses)
    {
        var (backend, ctx) = Serve(checkRingAddresses);
        using (backend)
        {
            var check = QueueSetupTests.OutsideMemory;
            var outcome = PropertyRunner.Run(check.Test, check.Property(ctx), ctx.Settings, check.Cases);
            Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, ctx.Settings, check.Test) +
                "\nback-end log:\n" + string.Join("\n", backend.LogLines.TakeLast(20)));
            Assert.That(outcome.Cases, Is.EqualTo(check.Cases));
            if (checkRingAddresses)
                Assert.That(backend.LogLines.Count(l => l.Contains("SET_VRING_ADDR refused")), Is.GreaterThanOrEqualTo(6 * check.Cases),
                    "every case puts transmitq2 past memory three ways (its table, avail ring, used ring), each with and without EVENT_IDX, and the back-end refuses each at SET_VRING_ADDR");
        }
    }

    /// <summary>The third careful answer: the device gives up on the ring with DEVICE_NEEDS_RESET when a kick would start it.</summary>
    [Test]
    public void A_ring_past_memory_answered_with_DEVICE_NEEDS_RESET_passes()
    {
        var ctx = TestContexts.For("masked://?pairs=8&careful=needs-reset-past-memory");
        var check = QueueSetupTests.OutsideMemory;
        var outcome = PropertyRunner.Run(check.Test, check.Property(ctx), ctx.Settings, check.Cases);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, ctx.Settings, check.Test));
    }
}
