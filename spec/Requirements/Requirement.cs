namespace VirtioMq.Spec;

/// <summary>Who a rule binds.</summary>
public enum Actor
{
    Device,
    Driver,
    Both,
}

/// <summary>The RFC 2119 keyword of a rule, or what else it is.</summary>
public enum Level
{
    Must,
    MustNot,
    Should,
    ShouldNot,
    May,
    /// <summary>A binding definition without a keyword that tests depend on.</summary>
    Definition,
    /// <summary>Not required by the spec, but what a careful device does (QEMU does it); never a MUST failure.</summary>
    Robustness,
}

/// <summary>
/// One normative statement of the spec with a stable ID. <see cref="Sections"/> maps each spec version that
/// has the rule to its section number there; a version absent from the map does not have the rule.
/// </summary>
public sealed record Requirement(
    string Id,
    Actor Actor,
    Level Level,
    string Title,
    string Summary,
    IReadOnlyDictionary<string, string> Sections,
    string? Note = null)
{
    public bool AppliesTo(SpecVersion version) => Sections.ContainsKey(version.Label());

    /// <summary>The section number in the given version, or in the primary version if the rule is absent there.</summary>
    public string SectionIn(SpecVersion version) =>
        Sections.TryGetValue(version.Label(), out var s) ? s : Sections.TryGetValue(SpecVersions.Primary.Label(), out var p) ? p : Sections.Values.First();

    /// <summary>True for the levels whose failure denies certification.</summary>
    public bool IsMandatory => Level is Level.Must or Level.MustNot;

    public override string ToString() => $"{Id} ({Level}, {Actor}, §{SectionIn(SpecVersions.Primary)})";
}
