using System.Reflection;
using System.Xml.Linq;

namespace VirtioMq.Tests.Architecture;

/// <summary>
/// The dependency rule of the design: the suite stands apart from the device it judges. What both sides share is
/// the spec (spec/); the suite (adapters/, conformance/) reaches the reference device only through the one adapter
/// that hosts it in process (adapters/InProcess), so a misreading of the spec cannot pass both sides unseen.
/// Read from the project files, the built assemblies and the sources, so a shortcut through any of them fails here.
/// </summary>
public sealed class DependencyRuleTests
{
    /// <summary>Which top-level folders each folder's projects may reference; the in-process adapter is the one exception.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["spec"] = ["spec"],
        ["reference"] = ["spec"],
        ["adapters"] = ["spec", "adapters"],
        ["adapters/InProcess"] = ["spec", "adapters", "reference"],
        ["conformance"] = ["spec", "adapters", "conformance"],
    };

    private static IEnumerable<string> Projects() =>
        Directory.EnumerateFiles(RepositoryRoot.Path, "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(RepositoryRoot.Path, p).Replace('\\', '/'))
            .Where(p => !p.Split('/').Any(part => part is "bin" or "obj") && !p.StartsWith("tests/", StringComparison.Ordinal)
                        && !p.StartsWith("mutation/", StringComparison.Ordinal))
            .Order();

    /// <summary>The rule a project falls under: the longest folder of <see cref="Allowed"/> it lives in.</summary>
    private static string Area(string path) =>
        Allowed.Keys.Where(k => path.StartsWith(k + "/", StringComparison.Ordinal)).OrderByDescending(k => k.Length).First();

    private static string TopFolder(string path) => path.Split('/')[0];

    [Test]
    public void Every_project_outside_tests_falls_under_a_rule() =>
        Assert.That(Projects().Where(p => !Allowed.Keys.Any(k => p.StartsWith(k + "/", StringComparison.Ordinal))), Is.Empty,
            "a project in a folder the dependency rule does not cover; add the folder to DependencyRuleTests.Allowed");

    [TestCaseSource(nameof(Projects))]
    public void Project_references_point_only_where_the_design_allows(string project)
    {
        var folder = Path.GetDirectoryName(Path.Combine(RepositoryRoot.Path, project))!;
        var references = XDocument.Load(Path.Combine(RepositoryRoot.Path, project)).Descendants("ProjectReference")
            .Select(r => Path.GetRelativePath(RepositoryRoot.Path, Path.GetFullPath(Path.Combine(folder, r.Attribute("Include")!.Value.Replace('\\', '/')))).Replace('\\', '/'))
            .ToList();
        var area = Area(project);
        var allowed = Allowed[area];
        var wrong = references.Where(r => !allowed.Contains(TopFolder(r)) && !(allowed.Contains("adapters") && r.StartsWith("adapters/", StringComparison.Ordinal))).ToList();
        // Only the in-process adapter may point into reference/, and no project but it may point at it from adapters/.
        if (area != "adapters/InProcess") wrong.AddRange(references.Where(r => r.StartsWith("reference/", StringComparison.Ordinal)));
        // And only the composition root (conformance/) may take the in-process adapter, and the reference with it.
        if (area.StartsWith("adapters", StringComparison.Ordinal)) wrong.AddRange(references.Where(r => r.StartsWith("adapters/InProcess/", StringComparison.Ordinal)));
        Assert.That(wrong.Distinct(), Is.Empty, $"{project} ({area}/ may reference {string.Join(", ", allowed.Select(a => a + "/"))})");
    }

    [TestCase("VirtioMq.Spec")]
    [TestCase("VirtioMq.Spec.Transport")]
    [TestCase("VirtioMq.Adapters")]
    [TestCase("VirtioMq.Conformance")]
    public void The_suite_assemblies_do_not_reference_the_reference_device(string assembly)
    {
        var names = Assembly.Load(assembly).GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.That(names, Has.None.EqualTo("VirtioMq.Reference"), $"{assembly} was compiled against the reference device");
    }

    [Test]
    public void The_reference_device_does_not_reference_the_suite()
    {
        var names = Assembly.Load("VirtioMq.Reference").GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.That(names, Has.None.StartsWith("VirtioMq.Adapters").And.None.StartsWith("VirtioMq.Conformance"));
    }

    [Test]
    public void No_suite_source_names_the_reference_namespace()
    {
        var offenders = new[] { "adapters", "conformance", "spec" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, d), "*.cs", SearchOption.AllDirectories))
            .Select(p => Path.GetRelativePath(RepositoryRoot.Path, p).Replace('\\', '/'))
            .Where(p => !p.Split('/').Any(part => part is "bin" or "obj") && !p.StartsWith("adapters/InProcess/", StringComparison.Ordinal))
            .Where(p => File.ReadAllText(Path.Combine(RepositoryRoot.Path, p)).Contains("VirtioMq.Reference", StringComparison.Ordinal))
            .ToList();
        Assert.That(offenders, Is.Empty, "only adapters/InProcess may use the reference device's code");
    }
}
