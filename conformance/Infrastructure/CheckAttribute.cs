using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;
using VirtioMq.Conformance.Rules;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// Marks a [Test] as the runner of the <see cref="SuiteCheck"/> its fixture declares under the same name, and gives
/// the test that declaration's rules and planes as NUnit properties "Requirement" and "Plane": they show up in the
/// test tree, in JUnit/NUnit XML, in <c>--filter Requirement=ID</c> and in the certification report, and are written
/// nowhere else. A [Test, Check] with no declaration of its name is not runnable.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class CheckAttribute : NUnitAttribute, IApplyToTest
{
    public const string RequirementProperty = "Requirement";
    public const string PlaneProperty = "Plane";

    public void ApplyToTest(NUnit.Framework.Internal.Test test)
    {
        var fixture = test.TypeInfo?.Type;
        var name = test.Method?.Name;
        SuiteCheck? check;
        try
        {
            check = fixture is null || name is null ? null : SuiteChecks.DeclaredIn(fixture).SingleOrDefault(c => c.Test == name);
        }
        catch (Exception e)
        {
            NotRunnable(test, $"the checks of {fixture?.Name} cannot be read: {e.GetBaseException().Message}");
            return;
        }
        if (check is null)
        {
            NotRunnable(test, $"{fixture?.Name} declares no single SuiteCheck for {name} (public static readonly, made with nameof({name}))");
            return;
        }
        foreach (var id in check.RequirementIds) test.Properties.Add(RequirementProperty, id);
        foreach (var plane in check.Planes) test.Properties.Add(PlaneProperty, plane.ToString());
    }

    private static void NotRunnable(NUnit.Framework.Internal.Test test, string reason)
    {
        test.RunState = RunState.NotRunnable;
        test.Properties.Set(PropertyNames.SkipReason, reason);
    }
}
