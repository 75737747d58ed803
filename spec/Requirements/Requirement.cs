namespace VirtioMq.Spec;

/// <summary>Who a rule binds.</summary>
public enum Actor
{
    Device,
    Driver,
    Both,
}

/// <summary>Which document a rule comes from.</summary>
public enum RequirementSource
{
    /// <summary>The OASIS virtio specification; sections are numbered per spec version.</summary>
    Virtio,
    /// <summary>QEMU's vhost-user protocol document; it has no versions, sections are titles.</summary>
    VhostUser,
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
    /// <summary>The key of a vhost-user rule's one section in <see cref="Sections"/>.</summary>
    public const string VhostUserSectionKey = "vhost-user";

    public RequirementSource Source { get; init; } = RequirementSource.Virtio;

    /// <summary>Whether the rule exists in a virtio version; vhost-user rules bind whatever virtio version is certified.</summary>
    public bool AppliesTo(SpecVersion version) => Source == RequirementSource.VhostUser || Sections.ContainsKey(version.Label());

    /// <summary>The section number in the given version, or in the primary version if the rule is absent there.</summary>
    public string SectionIn(SpecVersion version) =>
        Sections.TryGetValue(version.Label(), out var s) ? s : Sections.TryGetValue(SpecVersions.Primary.Label(), out var p) ? p : Sections.Values.First();

    /// <summary>Where a reader finds the rule: "§5.1.9.5.6.2 of virtio 1.4" or the vhost-user section title.</summary>
    public string Cite(SpecVersion version) => Source == RequirementSource.VhostUser
        ? $"vhost-user protocol, section \"{Sections[VhostUserSectionKey]}\""
        : $"§{SectionIn(version)} of virtio {version.Label()}";

    /// <summary>True for the levels whose failure denies certification.</summary>
    public bool IsMandatory => Level is Level.Must or Level.MustNot;

    public override string ToString() => $"{Id} ({Level}, {Actor}, {Cite(SpecVersions.Primary)})";
}
