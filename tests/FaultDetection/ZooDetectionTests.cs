using System.Text;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// Proof that the suite fails on every bug of the zoo: each variant, in each plane it exists in, is run through the
/// suite's checks for the rule it breaks, with their default case counts and a fresh seed, and one of them must fail
/// naming that rule. The same checks must pass on the healthy reference in the same plane.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class ZooDetectionTests
{
    public static IEnumerable<TestCaseData> Variants() =>
        BugZoo.Variants.SelectMany(v => new[] { (ZooPlane.Device, v.DeviceRule), (ZooPlane.Backend, v.BackendRule) }
            .Where(p => p.Item2 is not null)
            .Select(p => new TestCaseData(v.Fault, p.Item1, p.Item2).SetArgDisplayNames(v.Name, p.Item1.ToString(), p.Item2!)));

    /// <summary>The checks that claim <paramref name="rule"/>, the narrowest first, so the one aimed at the bug runs first.</summary>
    private static List<SuiteCheck> Aimed(ZooDevice device, string rule) =>
        [.. device.Checks.Where(c => c.RequirementIds.Contains(rule)).OrderBy(c => c.RequirementIds.Count)];

    [Test, TestCaseSource(nameof(Variants))]
    public void The_suite_fails_naming_the_rule(DeviceFault fault, ZooPlane plane, string rule)
    {
        using var device = ZooDevice.Start(fault, plane);
        var checks = Aimed(device, rule);
        Assert.That(checks, Is.Not.Empty, $"no check of the suite names {rule}");
        var seen = new StringBuilder();
        foreach (var check in checks)
        {
            var outcome = device.Run(check);
            seen.AppendLine($"{check.Test}: {(outcome.Passed ? $"passed {outcome.Cases} case(s)" : $"failed after {outcome.Cases} case(s) naming {outcome.Violation?.RequirementId ?? "no rule"}: {outcome.Violation?.Message ?? outcome.Error}")}");
            if (outcome.Violation?.RequirementId != rule) continue;
            TestContext.Out.WriteLine(FailureReport.Format(outcome, device.Context.Settings, check.Test));
            return;
        }
        Assert.Fail($"no check failed naming {rule} on {fault.Name()} ({plane}):\n{seen}back-end log:\n{string.Join("\n", device.BackendLog.TakeLast(10))}");
    }

    /// <summary>
    /// The checks aimed at some variant, per plane. Over the socket the model-based test is left to CI's run of the
    /// whole suite against the reference back-end (.ci/run): it takes 20 s here and judges the front-end model mostly.
    /// </summary>
    public static IEnumerable<TestCaseData> AimedChecks() =>
        BugZoo.Variants.SelectMany(v => new[] { (ZooPlane.Device, v.DeviceRule), (ZooPlane.Backend, v.BackendRule) })
            .Where(p => p.Item2 is not null)
            .SelectMany(p => SuiteChecks.All.Where(c => c.RequirementIds.Contains(p.Item2!))
                .Where(c => p.Item1 == ZooPlane.Device ? !c.VhostUserOnly : c.JudgesBackEnds && c != VirtioMq.Conformance.ModelBased.ModelBasedTests.MatchesTheModel)
                .Select(c => (p.Item1, c.Test)))
            .Distinct()
            .Select(x => new TestCaseData(x.Item1, x.Test).SetArgDisplayNames(x.Item1.ToString(), x.Test));

    [Test, TestCaseSource(nameof(AimedChecks))]
    public void The_check_passes_on_the_healthy_reference(ZooPlane plane, string test)
    {
        using var device = ZooDevice.Start(null, plane);
        var check = SuiteChecks.All.Single(c => c.Test == test);
        var outcome = device.Run(check);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, device.Context.Settings, test) +
            "\nback-end log:\n" + string.Join("\n", device.BackendLog.TakeLast(20)));
    }
}
