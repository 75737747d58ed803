using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;
using VirtioMq.Tests.FaultDetection;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// The reconnect check passes the reference back-end that connects again as a client, and fails one whose rings restart
/// at 0 instead of the base it is handed (the zoo's resume-clears-indices: Linux vdpa/mlx5, oxide propolis), naming
/// vu.set-base.resume. In client mode it cannot see a reconnect, and says so instead of passing.
/// </summary>
[TestFixture]
public sealed class ReconnectCheckTests
{
    private static PropertyOutcome Run(string uri, int cases = 8)
    {
        var ctx = TestContexts.For(uri, cases);
        var check = VhostUserReconnectTests.Reconnect;
        return PropertyRunner.Run(check.Test, check.Property(ctx), ctx.Settings, cases);
    }

    [Test]
    public void A_healthy_back_end_that_connects_again_passes()
    {
        var path = RunningBackend.NewSocketPath("reconnect");
        using var backend = new RunningBackend(path, new ReferenceOptions(4), client: true);
        var outcome = Run($"vhost-user://{path}?pairs=4&server=1");
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, TestContexts.For(path).Settings, "reconnect") +
            "\nback-end log:\n" + string.Join("\n", backend.LogLines.TakeLast(20)));
        Assert.That(outcome.JudgedCases, Is.EqualTo(outcome.Cases), "every case saw the back-end come back");
        Assert.That(backend.Backend.Sessions, Is.GreaterThanOrEqualTo(2 * outcome.Cases), "a session and a reconnect per case");
    }

    [Test]
    public void A_back_end_that_restarts_its_rings_at_0_fails_set_base_resume()
    {
        var path = RunningBackend.NewSocketPath("reconnect-bad");
        using var backend = new RunningBackend(path, new ReferenceOptions(4).WithFaults(new HashSet<DeviceFault> { DeviceFault.ResumeClearsIndices }), client: true);
        var outcome = Run($"vhost-user://{path}?pairs=4&server=1", cases: 20);
        Assert.That(outcome.Violation?.RequirementId, Is.EqualTo(Rule.VuSetBaseResume), () => FailureReport.Format(outcome, TestContexts.For(path).Settings, "reconnect"));
    }

    [Test]
    public void In_client_mode_the_check_does_not_apply()
    {
        var path = RunningBackend.NewSocketPath("reconnect-client");
        using var backend = new RunningBackend(path, new ReferenceOptions(4));
        var outcome = Run($"vhost-user://{path}?pairs=4", cases: 2);
        Assert.That(outcome.JudgedCases, Is.Zero);
        Assert.That(outcome.NotApplicableText, Does.Contain("server=1"));
    }
}
