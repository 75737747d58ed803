using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// An expected-results file for one device: the findings already known, so CI stays green while they stay
/// visible, the way protobuf's conformance suite keeps failure lists. One entry a line:
/// <c>TestName requirement-id  # why</c>. A listed test that fails naming its requirement is reported as a
/// known finding (skipped, with the violation); a listed test that passes, or fails naming another rule,
/// fails the run, so the file has to follow the device.
/// <para>
/// A finding that shows only some runs (a race in the device) is listed with a third word, <c>intermittent</c>: its
/// failure is a known finding and its pass is no news. Where it can show in any check, the test name is <c>*</c>
/// (<c>* net.tx.def.sent intermittent  # why</c>): a check that fails with that rule is a known finding, whichever.
/// </para>
/// </summary>
public sealed class KnownFindings
{
    public const string AnyTest = "*";
    public const string Intermittent = "intermittent";

    private readonly Dictionary<string, HashSet<string>> _byTest = [];
    private readonly HashSet<string> _intermittentTests = [];

    public KnownFindings(string path, IEnumerable<string> lines)
    {
        Path = path;
        var n = 0;
        foreach (var raw in lines)
        {
            n++;
            var line = raw.Split('#', 2)[0].Trim();
            if (line.Length == 0) continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length is not (2 or 3) || parts.Length == 3 && parts[2] != Intermittent)
                throw new FormatException($"{path}:{n}: expected 'TestName requirement-id' or 'TestName requirement-id {Intermittent}', got '{raw.Trim()}'");
            if (parts[0] == AnyTest && parts.Length != 3)
                throw new FormatException($"{path}:{n}: '{AnyTest}' (any test) is only for a finding marked {Intermittent}: a rule no one check is listed for cannot be told fixed");
            if (!RequirementCatalogue.Default.Contains(parts[1]))
                throw new FormatException($"{path}:{n}: {parts[1]} is not in the requirement catalogue");
            (_byTest.TryGetValue(parts[0], out var ids) ? ids : _byTest[parts[0]] = []).Add(parts[1]);
            if (parts.Length == 3) _intermittentTests.Add(parts[0]);
        }
    }

    public string Path { get; }

    public static KnownFindings? Load(string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) return null;
        var found = Resolve(path) ?? throw new FileNotFoundException($"the expected-results file '{path}' does not exist (relative paths are tried from the test run's folder upwards)", path);
        return new KnownFindings(found, File.ReadAllLines(found));
    }

    // dotnet test runs the suite from its bin folder, so a path relative to the repository (as README and CI
    // write it) is looked for in each folder above that one too.
    private static string? Resolve(string path)
    {
        if (File.Exists(path) || System.IO.Path.IsPathRooted(path)) return File.Exists(path) ? System.IO.Path.GetFullPath(path) : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, path);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Whether a pass of <paramref name="testName"/> is news: it is listed, and not as intermittent.</summary>
    public bool Lists(string testName) => _byTest.ContainsKey(testName) && !_intermittentTests.Contains(testName);

    /// <summary>Whether a failure of <paramref name="testName"/> naming <paramref name="requirementId"/> is known (listed for it, or for any test).</summary>
    public bool Lists(string testName, string requirementId) =>
        _byTest.TryGetValue(testName, out var ids) && ids.Contains(requirementId)
        || _byTest.TryGetValue(AnyTest, out var any) && any.Contains(requirementId);

    public IReadOnlyCollection<string> For(string testName) => _byTest.TryGetValue(testName, out var ids) ? ids : [];
}
