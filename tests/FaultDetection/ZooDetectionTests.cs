using System.Text;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// Proof that the suite fails on every bug of the zoo: each variant, in each plane it exists in and on each virtqueue
/// format it breaks (<see cref="ZooVariant.Formats"/>), is run through the suite's checks for the rule it breaks, with
/// their default case counts and a fresh seed, and one of them must fail naming that rule (on packed rings, the packed
/// counterpart of a split rule). The same checks must pass on the healthy reference in the same plane and format.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.Children)]
public sealed class ZooDetectionTests
{
    /// <summary>Each variant in each plane it lives in, on each format it breaks, with the rule the suite must name there.</summary>
    private static IEnumerable<(ZooVariant Variant, ZooPlane Plane, RingFormat Format, string Rule)> Proofs() =>
        BugZoo.Variants.SelectMany(v => new[] { (ZooPlane.Device, v.DeviceRule), (ZooPlane.Backend, v.BackendRule) }
            .Where(p => p.Item2 is not null)
            .SelectMany(p => v.Formats.Select(f => (v, p.Item1, f, FormatCounterparts.In(f, p.Item2!)))));

    public static IEnumerable<TestCaseData> Variants() =>
        Proofs().Select(p => new TestCaseData(p.Variant.Fault, p.Plane, p.Format, p.Rule)
            .SetArgDisplayNames(p.Variant.Name, p.Plane.ToString(), p.Format.Label(), p.Rule));

    /// <summary>The checks that claim <paramref name="rule"/> on the device's rings, the narrowest first, so the one aimed at the bug runs first.</summary>
    private static List<SuiteCheck> Aimed(ZooDevice device, string rule) =>
        [.. device.Checks.Where(c => device.Names(c, rule)).OrderBy(c => c.RequirementIds.Count)];

    [Test, TestCaseSource(nameof(Variants))]
    public void The_suite_fails_naming_the_rule(DeviceFault fault, ZooPlane plane, RingFormat format, string rule)
    {
        using var device = ZooDevice.Start(fault, plane, format: format);
        var checks = Aimed(device, rule);
        Assert.That(checks, Is.Not.Empty, $"no check of the suite names {rule} on {format.Label()} rings");
        var seen = new StringBuilder();
        foreach (var check in checks)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var outcome = device.Run(check);
            seen.AppendLine($"{check.Test} ({clock.Elapsed.TotalSeconds:0.0} s): {(outcome.Passed ? $"passed {outcome.Cases} case(s)" : $"failed after {outcome.Cases} case(s) naming {outcome.Violation?.RequirementId ?? "no rule"}: {outcome.Violation?.Message ?? outcome.Error}")}");
            if (outcome.Violation?.RequirementId != rule) continue;
            TestContext.Out.Write(seen);
            TestContext.Out.WriteLine(FailureReport.Format(outcome, device.Context.Settings, check.Test));
            return;
        }
        Assert.Fail($"no check failed naming {rule} on {fault.Name()} ({plane}, {format.Label()} rings):\n{seen}back-end log:\n{string.Join("\n", device.BackendLog.TakeLast(10))}");
    }

    /// <summary>
    /// The checks aimed at some variant, per plane and format. Over the socket the model-based test is left to CI's run of
    /// the whole suite against the reference back-end (.ci/run): it takes 20 s here and judges the front-end model mostly.
    /// </summary>
    public static IEnumerable<TestCaseData> AimedChecks() =>
        Proofs()
            .SelectMany(p => SuiteChecks.All.Where(c => c.RequirementIds.Any(id => FormatCounterparts.In(p.Format, id) == p.Rule))
                .Where(c => p.Plane == ZooPlane.Device ? !c.VhostUserOnly : c.JudgesBackEnds && c != VirtioMq.Conformance.ModelBased.ModelBasedTests.MatchesTheModel)
                .Where(c => p.Format == RingFormat.Packed ? c.SplitOnly is null : !c.PackedOnly)
                .Select(c => (p.Plane, p.Format, c.Test)))
            .Distinct()
            .Select(x => new TestCaseData(x.Plane, x.Format, x.Test).SetArgDisplayNames(x.Plane.ToString(), x.Format.Label(), x.Test));

    /// <summary>
    /// The variants that break packed rings only, with the checks aimed at them that judge split rings too: on split rings
    /// the fault has no effect, so those checks pass there.
    /// </summary>
    public static IEnumerable<TestCaseData> PackedOnlyVariantsOnSplitRings() =>
        Proofs().Where(p => !p.Variant.Formats.Contains(RingFormat.Split))
            .SelectMany(p => SuiteChecks.All.Where(c => c.RequirementIds.Any(id => FormatCounterparts.In(p.Format, id) == p.Rule))
                .Where(c => c.SplitOnly is null && !c.PackedOnly && (p.Plane == ZooPlane.Device ? !c.VhostUserOnly : c.JudgesBackEnds))
                .Select(c => new TestCaseData(p.Variant.Fault, p.Plane, c.Test).SetArgDisplayNames(p.Variant.Name, p.Plane.ToString(), c.Test)));

    [Test, TestCaseSource(nameof(PackedOnlyVariantsOnSplitRings))]
    public void A_packed_ring_fault_passes_on_split_rings(DeviceFault fault, ZooPlane plane, string test)
    {
        using var device = ZooDevice.Start(fault, plane, format: RingFormat.Split);
        var check = SuiteChecks.All.Single(c => c.Test == test);
        var outcome = device.Run(check);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, device.Context.Settings, test) +
            "\nback-end log:\n" + string.Join("\n", device.BackendLog.TakeLast(20)));
    }

    [Test, TestCaseSource(nameof(AimedChecks))]
    public void The_check_passes_on_the_healthy_reference(ZooPlane plane, RingFormat format, string test)
    {
        using var device = ZooDevice.Start(null, plane, format: format);
        var check = SuiteChecks.All.Single(c => c.Test == test);
        var outcome = device.Run(check);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, device.Context.Settings, test) +
            "\nback-end log:\n" + string.Join("\n", device.BackendLog.TakeLast(20)));
    }
}
