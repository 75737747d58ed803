using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace VirtioMq.Spec;

/// <summary>
/// Every rule the suite can name, read from <c>requirements.json</c> (embedded as
/// <c>VirtioMq.Spec.requirements.json</c>). The file is validated as a whole on load so that a bad edit fails
/// fast with the offending ID instead of surfacing later as a report that points nowhere.
/// </summary>
public sealed partial class RequirementCatalogue
{
    private const string ResourceName = "VirtioMq.Spec.requirements.json";
    private const string VhostUserResourceName = "VirtioMq.Spec.vhost-user-requirements.json";

    // Lazy rather than a static initializer: a broken catalogue then throws its own InvalidDataException at
    // first use instead of a TypeInitializationException that hides the message.
    private static readonly Lazy<RequirementCatalogue> Embedded = new(LoadEmbedded);

    private static readonly string[] VersionLabels = [.. Enum.GetValues<SpecVersion>().Select(v => v.Label())];

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNameCaseInsensitive = true,
        // A misspelt field ("secions") or a repeated key would otherwise be dropped silently.
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
    };

    private readonly Dictionary<string, Requirement> _byId;

    private RequirementCatalogue(IReadOnlyList<Requirement> all)
    {
        All = all;
        _byId = all.ToDictionary(r => r.Id, StringComparer.Ordinal);
    }

    /// <summary>The catalogue shipped with the suite.</summary>
    public static RequirementCatalogue Default => Embedded.Value;

    /// <summary>All requirements in file order (spec order, robustness entries last).</summary>
    public IReadOnlyList<Requirement> All { get; }

    public bool Contains(string id) => _byId.ContainsKey(id);

    public bool TryGet(string id, [MaybeNullWhen(false)] out Requirement requirement) => _byId.TryGetValue(id, out requirement);

    public Requirement Get(string id) =>
        _byId.TryGetValue(id, out var r) ? r : throw new KeyNotFoundException(NotFoundMessage(id));

    /// <summary>The requirements that exist in the given spec version (those with a section number there).</summary>
    public IEnumerable<Requirement> In(SpecVersion version) => All.Where(r => r.AppliesTo(version));

    /// <summary>Parses and validates a catalogue; throws <see cref="InvalidDataException"/> naming the bad entry.</summary>
    public static RequirementCatalogue Parse(string json, string? vhostUserJson = null)
    {
        var all = ParseEntries(json, RequirementSource.Virtio);
        if (vhostUserJson is not null) all.AddRange(ParseEntries(vhostUserJson, RequirementSource.VhostUser));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in all)
            if (!seen.Add(r.Id)) throw Bad(r.Id, "duplicate id");
        return new RequirementCatalogue(all.AsReadOnly());
    }

    private static List<Requirement> ParseEntries(string json, RequirementSource source)
    {
        ArgumentNullException.ThrowIfNull(json);
        Entry?[]? entries;
        try
        {
            entries = JsonSerializer.Deserialize<Entry?[]>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"requirements.json is not a valid catalogue: {e.Message}", e);
        }
        if (entries is null) throw new InvalidDataException("requirements.json must be a JSON array of requirements, not null");

        var all = new List<Requirement>(entries.Length);
        for (var i = 0; i < entries.Length; i++)
            all.Add(ToRequirement(entries[i] ?? throw new InvalidDataException($"entry #{i} is null"), i, source));
        return all;
    }

    private static Requirement ToRequirement(Entry e, int index, RequirementSource source)
    {
        if (string.IsNullOrWhiteSpace(e.Id)) throw new InvalidDataException($"entry #{index} has no id");
        var id = e.Id;
        if (!IdPattern().IsMatch(id)) throw Bad(id, $"id does not match {IdPattern()}");
        var actor = e.Actor switch
        {
            "device" => Actor.Device,
            "driver" => Actor.Driver,
            "both" => Actor.Both,
            _ => throw Bad(id, $"unknown actor '{e.Actor}' (expected device, driver or both)"),
        };
        var level = e.Level switch
        {
            "must" => Level.Must,
            "must-not" => Level.MustNot,
            "should" => Level.Should,
            "should-not" => Level.ShouldNot,
            "may" => Level.May,
            "definition" => Level.Definition,
            "robustness" => Level.Robustness,
            _ => throw Bad(id, $"unknown level '{e.Level}' (expected must, must-not, should, should-not, may, definition or robustness)"),
        };
        if (string.IsNullOrWhiteSpace(e.Title)) throw Bad(id, "empty title");
        if (string.IsNullOrWhiteSpace(e.Summary)) throw Bad(id, "empty summary");
        if (e.Sections is null || e.Sections.Count == 0) throw Bad(id, "no sections: a rule must exist in at least one spec version");

        // Kept in version order so that reports list 1.0 .. 1.4 the same way every time.
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (version, section) in e.Sections.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (source == RequirementSource.VhostUser)
            {
                // The vhost-user document is unversioned: one section, named by its title.
                if (version != Requirement.VhostUserSectionKey || string.IsNullOrWhiteSpace(section) || e.Sections.Count != 1)
                    throw Bad(id, $"a vhost-user rule has exactly one section, keyed \"{Requirement.VhostUserSectionKey}\", holding the section title");
                sections.Add(version, section);
                continue;
            }
            if (!VersionLabels.Contains(version)) throw Bad(id, $"unknown spec version '{version}' (expected one of {string.Join(", ", VersionLabels)})");
            if (section is null || !SectionPattern().IsMatch(section)) throw Bad(id, $"section '{section}' for {version} is not a section number like 5.1.9.5.6.2");
            sections.Add(version, section);
        }
        return new Requirement(id, actor, level, e.Title, e.Summary, new ReadOnlyDictionary<string, string>(sections),
            string.IsNullOrWhiteSpace(e.Note) ? null : e.Note)
        { Source = source };
    }

    private static InvalidDataException Bad(string id, string problem) => new($"requirement '{id}': {problem}");

    private string NotFoundMessage(string id)
    {
        // Suggest siblings (same ID minus its last segment): most misses are a misspelt last segment.
        var parent = id.Contains('.') ? id[..id.LastIndexOf('.')] : id;
        var near = All.Select(r => r.Id).Where(x => x.StartsWith(parent + ".", StringComparison.Ordinal)).Take(5).ToList();
        var hint = near.Count > 0 ? $"; similar: {string.Join(", ", near)}" : "";
        return $"requirement '{id}' is not in the catalogue ({All.Count} entries, spec/Requirements/requirements.json){hint}";
    }

    private static RequirementCatalogue LoadEmbedded()
    {
        return Parse(ReadResource(ResourceName), ReadResource(VhostUserResourceName));
    }

    private static string ReadResource(string name)
    {
        using var stream = typeof(RequirementCatalogue).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidDataException($"embedded resource {name} is missing: its file under spec/Requirements was absent at build time");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^[a-z]+(\.[a-z0-9-]+)+$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^[0-9]+(\.[0-9]+)*$")]
    private static partial Regex SectionPattern();

    // The file's shape; everything is nullable so that missing fields reach the validation above with a clear message.
    private sealed record Entry(string? Id, string? Actor, string? Level, string? Title, string? Summary,
        Dictionary<string, string?>? Sections, string? Note);
}
