using System.Reflection;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;
using NUnit.Framework.Internal.Builders;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Conformance;

/// <summary>
/// Each check of the suite is declared once (<see cref="SuiteCheck"/>), and NUnit, the report and the bug zoo all read
/// that declaration: every [Test] of the conformance assembly runs exactly one, every declaration is run by exactly
/// one [Test], and the NUnit test carries the declaration's rules and planes as its "Requirement" and "Plane".
/// </summary>
[TestFixture]
public sealed class CheckDeclarationTests
{
    private static readonly Type[] Fixtures =
        [.. typeof(Suite).Assembly.GetTypes().Where(t => t.IsDefined(typeof(TestFixtureAttribute), false))];

    private static IEnumerable<MethodInfo> TestsOf(Type fixture) =>
        fixture.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly).Where(m => m.IsDefined(typeof(TestAttribute), false));

    [Test]
    public void Every_test_of_the_suite_runs_exactly_one_declared_check()
    {
        var tests = typeof(Suite).Assembly.GetTypes().SelectMany(t => t.GetMethods()).Where(m => m.IsDefined(typeof(TestAttribute), false)).ToList();
        Assert.That(tests, Is.Not.Empty);
        foreach (var m in tests)
        {
            var where = $"{m.DeclaringType!.Name}.{m.Name}";
            Assert.That(m.IsDefined(typeof(CheckAttribute), false), $"{where} is a [Test] without [Check]");
            Assert.That(SuiteChecks.DeclaredIn(m.DeclaringType!).Count(c => c.Test == m.Name), Is.EqualTo(1), $"{where}: declarations of its name in its fixture");
        }
    }

    [Test]
    public void Every_declared_check_is_one_test_of_its_fixture()
    {
        foreach (var fixture in Fixtures)
            foreach (var check in SuiteChecks.DeclaredIn(fixture))
                Assert.That(TestsOf(fixture).Count(m => m.Name == check.Test), Is.EqualTo(1), $"{fixture.Name} declares {check.Test}, which is not one of its [Test] methods");
        Assert.That(SuiteChecks.All.Select(c => c.Test), Is.Unique, "two checks of one name: a --filter or a report line would mean both");
        Assert.That(SuiteChecks.All, Has.Count.EqualTo(Fixtures.Sum(f => TestsOf(f).Count())));
    }

    [Test]
    public void A_declaration_names_catalogue_rules_planes_and_a_case_count()
    {
        foreach (var check in SuiteChecks.All)
        {
            Assert.That(check.RequirementIds, Is.Not.Empty.And.Unique, check.Test);
            Assert.That(check.RequirementIds.Where(id => !RequirementCatalogue.Default.Contains(id)), Is.Empty, check.Test);
            Assert.That(check.Planes, Is.Not.Empty.And.Unique, check.Test);
            Assert.That(check.Cases, Is.Positive, check.Test);
        }
    }

    /// <summary>What `dotnet test --filter Requirement=ID`, the JUnit XML and the report see: the tests NUnit builds.</summary>
    [Test]
    public void NUnit_builds_each_test_with_its_declarations_requirements_and_planes()
    {
        var built = 0;
        foreach (var fixture in Fixtures)
        {
            var suite = new DefaultSuiteBuilder().BuildFrom(new TypeWrapper(fixture));
            foreach (var test in suite.Tests.OfType<TestMethod>())
            {
                var check = SuiteChecks.DeclaredIn(fixture).Single(c => c.Test == test.Name);
                Assert.That(test.RunState, Is.EqualTo(RunState.Runnable), test.FullName);
                Assert.That(test.Properties[CheckAttribute.RequirementProperty], Is.EqualTo(check.RequirementIds), test.FullName);
                Assert.That(test.Properties[CheckAttribute.PlaneProperty], Is.EqualTo(check.Planes.Select(p => p.ToString())), test.FullName);
                built++;
            }
        }
        Assert.That(built, Is.EqualTo(SuiteChecks.All.Count));
    }

    [Test]
    public void A_test_with_Check_but_no_declaration_is_not_runnable()
    {
        var fixture = new TypeWrapper(typeof(Undeclared));
        var method = new MethodWrapper(typeof(Undeclared), nameof(Undeclared.Has_no_declaration));
        var test = new NUnitTestCaseBuilder().BuildTestMethod(method, new TestFixture(fixture), null);
        Assert.That(test.RunState, Is.EqualTo(RunState.NotRunnable));
        Assert.That(test.Properties.Get(PropertyNames.SkipReason), Does.Contain("declares no single SuiteCheck"));
    }

    /// <summary>A method marked [Check] whose class declares nothing; no [Test], so NUnit builds it only when asked above.</summary>
    public sealed class Undeclared
    {
        [Check]
        public static void Has_no_declaration() => Assert.Pass();
    }
}
