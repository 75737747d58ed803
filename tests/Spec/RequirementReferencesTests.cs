using System.Reflection;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.ModelBased;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Spec;

/// <summary>Every requirement ID the suite names must be in the catalogue, or reports would point nowhere.</summary>
[TestFixture]
public sealed class RequirementReferencesTests
{
    private static IEnumerable<string> CheckIds() => SuiteChecks.All.SelectMany(c => c.RequirementIds).Distinct();

    private static IEnumerable<string> JudgedIds() =>
        MqMachine.AllDeviceRules
            .Concat(BugZoo.Variants.SelectMany(v => new[] { v.DeviceRule, v.BackendRule }).OfType<string>())
            .Distinct();

    [Test]
    public void Every_requirement_a_test_names_is_in_the_catalogue()
    {
        var missing = CheckIds().Concat(JudgedIds()).Distinct().Where(id => !RequirementCatalogue.Default.Contains(id)).ToList();
        Assert.That(missing, Is.Empty);
    }

    [Test]
    public void Robustness_tests_check_only_robustness_requirements()
    {
        var wrong = typeof(Suite).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttributes<CategoryAttribute>().Any(c => c.Name == "Robustness"))
            .SelectMany(m => SuiteChecks.Named(m.Name).RequirementIds.Select(id => (m.Name, id)))
            .Where(x => RequirementCatalogue.Default.Contains(x.id) && RequirementCatalogue.Default.Get(x.id).Level != Level.Robustness)
            .ToList();
        Assert.That(wrong, Is.Empty);
    }
}
