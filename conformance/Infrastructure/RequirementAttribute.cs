namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// Names the catalogue requirements a test checks. Stored as NUnit properties named "Requirement", so they
/// show up in the test tree, in JUnit/NUnit XML and in the certification report.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, AllowMultiple = true)]
public sealed class RequirementAttribute : NUnit.Framework.PropertyAttribute
{
    public const string PropertyName = "Requirement";

    public RequirementAttribute(params string[] ids)
    {
        if (ids.Length == 0) throw new ArgumentException("a test names at least one requirement");
        Ids = ids;
        foreach (var id in ids) Properties.Add(PropertyName, id);
    }

    public IReadOnlyList<string> Ids { get; }
}
