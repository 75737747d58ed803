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
    public const string Split = "split";
    public const string Packed = "packed";

    private readonly Dictionary<string, HashSet<string>> _byTest = [];
    private readonly HashSet<string> _intermittentTests = [];
    // Lines that name one virtqueue format: (test, rule) -> the format. A line without one holds in every format.
    private readonly Dictionary<(string Test, string Rule), RingFormat> _onlyIn = [];

    public KnownFindings(string path, IEnumerable<string> lines)
    {
        Path = path;
        var n = 0;
        foreach (var raw in lines)
        {
            n++;
            var line = raw.Split('#', 2)[0].Trim();
            if (line.Length == 0) continue;
            var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
            // An optional format word (split or packed) anywhere after the rule: the finding shows in that format only.
            RingFormat? format = null;
            foreach (var w in words.Skip(2).Where(w => w is Split or Packed).ToList())
            {
                if (format is not null)
                    throw new FormatException($"{path}:{n}: a line names at most one format ({Split} or {Packed}), got '{raw.Trim()}'");
                format = w == Packed ? RingFormat.Packed : RingFormat.Split;
                words.Remove(w);
            }
            var parts = words.ToArray();
            if (parts.Length is not (2 or 3) || parts.Length == 3 && parts[2] != Intermittent)
                throw new FormatException($"{path}:{n}: expected 'TestName requirement-id [{Split}|{Packed}] [{Intermittent}]', got '{raw.Trim()}'");
            if (format is { } f) _onlyIn[(parts[0], parts[1])] = f;
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

    /// <summary>
    /// Whether a pass of <paramref name="testName"/> in <paramref name="format"/> is news: a line lists it for that format
    /// (or for every format), and not as intermittent.
    /// </summary>
    public bool Lists(string testName, RingFormat format = RingFormat.Split) =>
        _byTest.TryGetValue(testName, out var ids) && !_intermittentTests.Contains(testName) && ids.Any(id => Covers(testName, id, format));

    /// <summary>
    /// Whether a failure of <paramref name="testName"/> in <paramref name="format"/> naming <paramref name="requirementId"/> is known
    /// (listed for it, or for any test, in that format or in every format).
    /// </summary>
    public bool Lists(string testName, string requirementId, RingFormat format = RingFormat.Split) =>
        _byTest.TryGetValue(testName, out var ids) && ids.Contains(requirementId) && Covers(testName, requirementId, format)
        || _byTest.TryGetValue(AnyTest, out var any) && any.Contains(requirementId) && Covers(AnyTest, requirementId, format);

    private bool Covers(string testName, string requirementId, RingFormat format) =>
        !_onlyIn.TryGetValue((testName, requirementId), out var only) || only == format;

    public IReadOnlyCollection<string> For(string testName) => _byTest.TryGetValue(testName, out var ids) ? ids : [];
}
