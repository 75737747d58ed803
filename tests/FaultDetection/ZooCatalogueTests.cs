using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// The zoo is worth what its sources are: every switch names the real bug it reproduces (or says it is synthetic), the
/// rule it breaks, and the planes it lives in. (That the zoo's check list is the suite's [Test] methods is
/// CheckDeclarationTests' proof: both read the same declarations.)
/// </summary>
[TestFixture]
public sealed class ZooCatalogueTests
{
    /// <summary>docs/bug-zoo.md shows the catalogue as ZooBench generates it (--catalogue --update-doc), never an older hand copy.</summary>
    [Test]
    public void The_documented_catalogue_is_the_generated_one()
    {
        var section = DocSections.Read(Path.Combine(RepositoryRoot.Path, "docs", "bug-zoo.md"), "zoo-bench:catalogue");
        Assert.That(section, Is.EqualTo(ZooCatalogueTable.Markdown(BugZoo.Variants).Trim()),
            "docs/bug-zoo.md is out of date: dotnet run --project tests/bench/ZooBench -- --catalogue --update-doc docs/bug-zoo.md");
    }

    [Test]
    public void Every_fault_switch_is_in_the_zoo_once_with_its_source()
    {
        Assert.That(BugZoo.Variants.Select(v => v.Fault), Is.EquivalentTo(DeviceFaults.All));
        foreach (var v in BugZoo.Variants)
        {
            Assert.That(v.Source.Project, Is.Not.Empty, v.Name);
            Assert.That(v.Source.What, Is.Not.Empty, v.Name);
            Assert.That(v.InProcessDevice || v.Backend, v.Name);
            if (!v.InProcessDevice || !v.Backend) Assert.That(v.Absence, Is.Not.Null.And.Not.Empty, $"{v.Name} says why it has no form in one plane");
        }
    }

    [Test]
    public void The_zoo_holds_at_least_33_real_bugs() =>
        Assert.That(BugZoo.Variants.Count(v => !v.Source.IsSynthetic), Is.GreaterThanOrEqualTo(33));

    [Test]
    public void Each_rule_the_zoo_expects_is_in_the_catalogue_and_named_by_a_check_of_its_plane()
    {
        foreach (var v in BugZoo.Variants)
        {
            foreach (var (rule, scheme, backEnd) in new[] { (v.DeviceRule, "reference", false), (v.BackendRule, "vhost-user", true) })
            {
                if (rule is null) continue;
                Assert.That(RequirementCatalogue.Default.Contains(rule), $"{v.Name}: {rule} is not in the catalogue");
                foreach (var format in v.Formats)
                {
                    var named = FormatCounterparts.In(format, rule);
                    Assert.That(SuiteChecks.All.Any(c => (backEnd || !c.VhostUserOnly) && (format == RingFormat.Packed ? c.SplitOnly is null : !c.PackedOnly)
                        && c.RequirementIds.Any(id => FormatCounterparts.In(format, id) == named)), $"{v.Name}: no {scheme} check names {named} on {format} rings");
                }
            }
        }
    }

    [Test]
    public void The_back_end_takes_exactly_the_zoo_faults_that_live_in_a_back_end()
    {
        Assert.That(DeviceFaults.InBackend, Is.EquivalentTo(BugZoo.Variants.Where(v => v.Backend).Select(v => v.Fault)));
        Assert.That(DeviceFaults.BackendOnly, Is.EquivalentTo(BugZoo.Variants.Where(v => !v.InProcessDevice).Select(v => v.Fault)));
    }
}
