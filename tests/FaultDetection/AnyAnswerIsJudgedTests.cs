using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// Whatever a device answers, every check judges it against a rule and says what it expected: a crash of a check
/// ("the check itself failed") is a bug of the suite, never a verdict on the device. Each device here answers
/// something the suite's driver cannot simply use, and every check of the suite is run against it.
/// </summary>
[TestFixture]
public sealed class AnyAnswerIsJudgedTests
{
    public static IEnumerable<TestCaseData> Devices() =>
    [
        new TestCaseData("masked://?pairs=8&bug=max-pairs-byte-swapped").SetArgDisplayNames("max_virtqueue_pairs byte-swapped"),
        new TestCaseData("reference://?pairs=8&fault=rx-len-without-header").SetArgDisplayNames("used len without the header"),
        new TestCaseData("reference://?pairs=8&fault=rx-duplicates").SetArgDisplayNames("every frame twice"),
    ];

    [Test, TestCaseSource(nameof(Devices))]
    public void Every_check_names_a_rule(string uri)
    {
        var ctx = TestContexts.For(uri, cases: 10, timeout: TimeSpan.FromSeconds(2));
        var crashes = new List<string>();
        foreach (var check in SuiteChecks.All.Where(c => !c.VhostUserOnly))
        {
            var outcome = PropertyRunner.Run(check.Test, check.Property(ctx), ctx.Settings, Math.Min(check.Cases, 10), maxShrinks: 20);
            if (!outcome.Passed && outcome.Violation is null) crashes.Add($"{check.Test}: {outcome.Error?.Split('\n')[0]}");
            else if (!outcome.Passed && !RequirementCatalogue.Default.Contains(outcome.Violation!.RequirementId))
                crashes.Add($"{check.Test}: names {outcome.Violation.RequirementId}, which is not in the catalogue");
        }
        Assert.That(crashes, Is.Empty, string.Join("\n", crashes));
    }
}
