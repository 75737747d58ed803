using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Conformance;

/// <summary>Choosing checks by rule ID or family (`conformance/Tool list net.mq.*`), as h2spec runs one section.</summary>
[TestFixture]
public sealed class RuleSelectionTests
{
    [Test]
    public void A_family_chooses_every_check_naming_one_of_its_rules_and_no_other()
    {
        var selection = RuleSelection.Parse("net.mq.*");
        var chosen = SuiteChecks.All.Where(selection.Chooses).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(chosen, Is.Not.Empty);
            Assert.That(chosen.All(c => c.RequirementIds.Any(id => id.StartsWith("net.mq.", StringComparison.Ordinal))), Is.True);
            Assert.That(SuiteChecks.All.Except(chosen).Any(c => c.RequirementIds.Any(id => id.StartsWith("net.mq.", StringComparison.Ordinal))), Is.False);
        });
    }

    [Test]
    public void Exact_IDs_and_families_combine()
    {
        var selection = RuleSelection.Parse(" core.reset.dev.status-zero , ring.packed.* ");
        Assert.Multiple(() =>
        {
            Assert.That(selection.Matches(Rule.CoreResetDevStatusZero), Is.True);
            Assert.That(selection.Matches(Rule.RingPackedDefBufferId), Is.True);
            Assert.That(selection.Matches(Rule.NetMqDevRxQ1AfterReset), Is.False);
        });
    }

    [Test]
    public void A_packed_rule_chooses_the_checks_that_judge_it_through_their_split_rule()
    {
        // Checks name ring.used.def.returns-buffers once; on packed rings they judge ring.packed.def.buffer-id in its place.
        var selection = RuleSelection.Parse(Rule.RingPackedDefBufferId);
        Assert.That(SuiteChecks.All.Where(selection.Chooses).Select(c => c.RequirementIds),
            Has.Some.Contains(Rule.RingUsedDefReturnsBuffers));
    }

    [TestCase("no.such.rule")]
    [TestCase("zzz.*")]
    [TestCase(" , ")]
    public void A_pattern_naming_no_rule_is_refused(string text) =>
        Assert.That(() => RuleSelection.Parse(text), Throws.TypeOf<FormatException>());

    [Test]
    public void A_listing_line_names_the_check_its_formats_planes_cases_and_rules()
    {
        var line = CheckListing.Line(SuiteChecks.All.Single(c => c.Test == "After_reset_only_receiveq1_is_used_until_VQ_PAIRS_SET"));
        Assert.That(line, Does.StartWith("After_reset_only_receiveq1_is_used_until_VQ_PAIRS_SET  [split+packed; control+data plane;")
            .And.Contain(Rule.NetMqDevRxQ1AfterReset));
    }
}
