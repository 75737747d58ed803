using System.Reflection;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.ModelBased;
using VirtioMq.Spec;
using VirtioMq.Reference.Net;

namespace VirtioMq.Tests.Spec;

/// <summary>Every requirement ID the suite names must be in the catalogue, or reports would point nowhere.</summary>
[TestFixture]
public sealed class RequirementReferencesTests
{
    private static IEnumerable<string> AttributeIds() =>
        typeof(RequirementAttribute).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods().Cast<MemberInfo>().Append(t))
            .SelectMany(m => m.GetCustomAttributes<RequirementAttribute>())
            .SelectMany(a => a.Ids)
            .Distinct();

    private static IEnumerable<string> JudgedIds() =>
        MqMachine.AllDeviceRules
            .Concat(BugZoo.Variants.SelectMany(v => new[] { v.DeviceRule, v.BackendRule }).OfType<string>())
            .Distinct();

    [Test]
    public void Every_requirement_a_test_names_is_in_the_catalogue()
    {
        var missing = AttributeIds().Concat(JudgedIds()).Distinct().Where(id => !RequirementCatalogue.Default.Contains(id)).ToList();
        Assert.That(missing, Is.Empty);
    }

    [Test]
    public void Every_conformance_test_names_a_requirement()
    {
        var unnamed = typeof(RequirementAttribute).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttribute<TestAttribute>() is not null && m.GetCustomAttribute<RequirementAttribute>() is null)
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToList();
        Assert.That(unnamed, Is.Empty);
    }

    [Test]
    public void Every_conformance_test_states_the_plane_it_checks()
    {
        var unstated = typeof(RequirementAttribute).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttribute<TestAttribute>() is not null
                && m.GetCustomAttribute<PlaneAttribute>() is null && m.DeclaringType!.GetCustomAttribute<PlaneAttribute>() is null)
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToList();
        Assert.That(unstated, Is.Empty);
    }

    [Test]
    public void Robustness_tests_check_only_robustness_requirements()
    {
        var wrong = typeof(RequirementAttribute).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttributes<CategoryAttribute>().Any(c => c.Name == "Robustness"))
            .SelectMany(m => m.GetCustomAttribute<RequirementAttribute>()!.Ids.Select(id => (m.Name, id)))
            .Where(x => RequirementCatalogue.Default.Contains(x.id) && RequirementCatalogue.Default.Get(x.id).Level != Level.Robustness)
            .ToList();
        Assert.That(wrong, Is.Empty);
    }
}
