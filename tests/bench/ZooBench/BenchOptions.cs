using System.Globalization;
using VirtioMq.Tests.FaultDetection;

namespace VirtioMq.Bench.Zoo;

/// <summary>The bench's command line: which variants and plane, the suite's timeout, where to write the table.</summary>
public sealed record BenchOptions(IReadOnlySet<string> Variants, ZooPlane? Plane, TimeSpan Timeout, int? MaxShrinks, string? Output, bool Help)
{
    /// <summary>Only the catalogue table, from reference/Zoo/BugZoo.cs: nothing is run.</summary>
    public bool CatalogueOnly { get; init; }

    /// <summary>A Markdown document whose generated sections (catalogue, detection per plane) this run rewrites.</summary>
    public string? UpdateDoc { get; init; }

    public const string Usage = """
        dotnet run -c Release --project tests/bench/ZooBench [-- options]
          --variant NAME     only this zoo variant (repeatable); default: all
          --plane P          device (in-process) or back-end (vhost-user); default: both
          --timeout-ms N     the suite's timeout for each wait (default 5000, a user's default run)
          --max-shrinks N    stop a failed check's shrinking after N steps (default 20; 0: shrink to the end)
          --out FILE         also write the Markdown table to FILE
          --catalogue        print the zoo's catalogue table only (no runs)
          --update-doc FILE  rewrite FILE's generated sections: the catalogue, and the detection table of each plane
                             run, between <!-- zoo-bench:NAME:begin --> and <!-- zoo-bench:NAME:end --> (docs/bug-zoo.md)
        Prints the detection table (Markdown) on stdout and progress on stderr; exits 1 if a variant was not detected.
        """;

    public static BenchOptions Parse(string[] args)
    {
        var variants = new HashSet<string>();
        ZooPlane? plane = null;
        var timeout = TimeSpan.FromSeconds(5);
        string? output = null;
        int? maxShrinks = 20;
        var catalogue = false;
        string? updateDoc = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value\n{Usage}");
            switch (args[i])
            {
                case "--variant": variants.Add(Value()); break;
                case "--plane":
                    plane = Value() switch
                    {
                        "device" => ZooPlane.Device,
                        "back-end" or "backend" => ZooPlane.Backend,
                        var p => throw new ArgumentException($"--plane {p}: expected device or back-end"),
                    };
                    break;
                case "--timeout-ms": timeout = TimeSpan.FromMilliseconds(int.Parse(Value(), CultureInfo.InvariantCulture)); break;
                case "--out": output = Value(); break;
                case "--catalogue": catalogue = true; break;
                case "--update-doc": updateDoc = Value(); break;
                case "--max-shrinks":
                    var n = int.Parse(Value(), CultureInfo.InvariantCulture);
                    maxShrinks = n > 0 ? n : null;
                    break;
                case "-h" or "--help": return new BenchOptions(variants, plane, timeout, maxShrinks, output, true);
                default: throw new ArgumentException($"unknown option {args[i]}\n{Usage}");
            }
        }
        if (updateDoc is not null && variants.Count > 0)
            throw new ArgumentException("--update-doc writes whole tables: it cannot be combined with --variant");
        return new BenchOptions(variants, plane, timeout, maxShrinks, output, false) { CatalogueOnly = catalogue, UpdateDoc = updateDoc };
    }
}
