using System.Reflection;
using FsCheck;
using VirtioMq.Conformance.Infrastructure;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// One check of the suite, declared once beside its property as a <c>public static readonly</c> field of its fixture:
/// the NUnit test's name, the rules it names, its planes, its default case count, whether it binds only vhost-user
/// back-ends, and its property. The <c>[Test, Check]</c> method of that name runs it (<see cref="Suite.Verify"/>) and
/// takes its "Requirement" and "Plane" properties from it (<see cref="CheckAttribute"/>); the bug zoo's tests and
/// benchmark run the same declarations through <see cref="SuiteChecks.All"/>.
/// </summary>
public sealed class SuiteCheck
{
    /// <summary>The cases of a run that sets no VIRTIO_CASES, which a check declared without a count gets.</summary>
    public const int DefaultCases = 100;

    /// <param name="test">The [Test] method that runs it: <c>nameof(...)</c>.</param>
    /// <param name="property">The property, made afresh for each run against the run's device.</param>
    /// <param name="requirementIds">The catalogue rules it judges (<see cref="VirtioMq.Spec.Rule"/>).</param>
    /// <param name="planes">The halves of the device it judges; over vhost-user the control plane is the suite's own front-end.</param>
    /// <param name="cases">Its case count; null takes the run's (VIRTIO_CASES, <see cref="DefaultCases"/> without it).</param>
    /// <param name="vhostUserOnly">Whether its rules bind only vhost-user back-ends.</param>
    /// <param name="pciOnly">Whether its rules bind only devices on the virtio-pci transport.</param>
    /// <param name="splitOnly">
    /// Why the check judges split rings only (it writes split-ring memory by hand, or judges a split-ring field), naming
    /// what judges the same for packed rings; null for a check that runs in every format the run asks for.
    /// </param>
    /// <param name="packedOnly">Whether it judges rules of the packed format alone (§2.8): in a split run it is not applicable.</param>
    public SuiteCheck(string test, Func<SuiteContext, Property> property, IReadOnlyList<string> requirementIds, IReadOnlyList<Plane> planes,
        int? cases = null, bool vhostUserOnly = false, bool pciOnly = false, string? splitOnly = null, bool packedOnly = false)
    {
        // A declaration that reads a static of its fixture declared below it sees null or 0: fail at once, naming it.
        ArgumentException.ThrowIfNullOrWhiteSpace(test);
        ArgumentNullException.ThrowIfNull(property);
        if (requirementIds is null || requirementIds.Count == 0 || requirementIds.Any(string.IsNullOrEmpty))
            throw new ArgumentException($"{test}: a check names at least one requirement, and none empty", nameof(requirementIds));
        if (planes is null || planes.Count == 0) throw new ArgumentException($"{test}: a check judges at least one plane", nameof(planes));
        if (cases is <= 0) throw new ArgumentOutOfRangeException(nameof(cases), cases, $"{test}: a check runs at least one case");
        Test = test;
        Property = property;
        RequirementIds = [.. requirementIds];
        Planes = [.. planes];
        DeclaredCases = cases;
        VhostUserOnly = vhostUserOnly;
        PciOnly = pciOnly;
        SplitOnly = splitOnly;
        PackedOnly = packedOnly;
        if (splitOnly is not null && packedOnly) throw new ArgumentException($"{test}: a check cannot be both split-only and packed-only");
    }

    public string Test { get; }
    public Func<SuiteContext, Property> Property { get; }
    public IReadOnlyList<string> RequirementIds { get; }
    public IReadOnlyList<Plane> Planes { get; }

    /// <summary>The count the declaration gives, or null for the run's own.</summary>
    public int? DeclaredCases { get; }

    /// <summary>The cases a default run gives the check.</summary>
    public int Cases => DeclaredCases ?? DefaultCases;

    /// <summary>Whether its rules bind only vhost-user back-ends: on a device without <c>IVhostUserBackEnd</c> it is not applicable.</summary>
    public bool VhostUserOnly { get; }

    /// <summary>Whether its rules bind only virtio-pci devices: on a device without <c>IPciTransport</c> it is not applicable.</summary>
    public bool PciOnly { get; }

    /// <summary>Why it runs on split rings only, or null when it runs in every format.</summary>
    public string? SplitOnly { get; }

    /// <summary>Whether it judges packed-ring rules alone.</summary>
    public bool PackedOnly { get; }


    /// <summary>Whether the check can see a bug of a vhost-user back-end: over vhost-user the control plane is the suite's own front-end.</summary>
    public bool JudgesBackEnds => Planes.Contains(Plane.Data);

    public override string ToString() => Test;
}

/// <summary>Every check of the suite, read from the declarations of its fixtures: there is no list to keep.</summary>
public static class SuiteChecks
{
    /// <summary>Every check: fixtures by name, each fixture's checks in the order they are declared.</summary>
    public static IReadOnlyList<SuiteCheck> All { get; } =
    [
        .. typeof(SuiteChecks).Assembly.GetTypes()
            .Where(t => t.IsDefined(typeof(TestFixtureAttribute), false))
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .SelectMany(DeclaredIn),
    ];

    /// <summary>The checks a fixture declares: its public static readonly fields of type <see cref="SuiteCheck"/>.</summary>
    public static IEnumerable<SuiteCheck> DeclaredIn(Type fixture) =>
        fixture.GetFields(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(f => f.FieldType == typeof(SuiteCheck) && f.IsInitOnly)
            .OrderBy(f => f.MetadataToken)
            .Select(f => (SuiteCheck)f.GetValue(null)!);

    /// <summary>The check called <paramref name="test"/>.</summary>
    public static SuiteCheck Named(string test) => All.Single(c => c.Test == test);
}
