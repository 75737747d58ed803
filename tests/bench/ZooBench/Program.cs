using System.Diagnostics;
using VirtioMq.Bench.Zoo;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;
using VirtioMq.Tests;
using VirtioMq.Tests.FaultDetection;

// `dotnet run -c Release --project tests/bench/ZooBench [-- options]`: runs every check of the conformance suite
// against every bug-zoo variant, in each plane the variant lives in, and prints the detection table (Markdown).
// Each check runs with its default case count and stops only at its own first failure; it then shrinks as a
// user's run would, for at most --max-shrinks steps (a device that loses every frame makes each step wait).

var options = BenchOptions.Parse(args);
if (options.Help)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}
var variants = BugZoo.Variants.Where(v => options.Variants.Count == 0 || options.Variants.Contains(v.Name)).ToList();
if (variants.Count == 0)
{
    Console.Error.WriteLine($"error: no zoo variant is called {string.Join(", ", options.Variants)}; known: {string.Join(", ", BugZoo.Variants.Select(v => v.Name))}");
    return 2;
}

var catalogueTable = ZooCatalogueTable.Markdown(BugZoo.Variants);
if (options.UpdateDoc is { } doc) DocSections.Replace(doc, "zoo-bench:catalogue", catalogueTable);
if (options.CatalogueOnly)
{
    Console.WriteLine(catalogueTable);
    return 0;
}

var rows = new List<DetectionRow>();
var clock = Stopwatch.StartNew();
foreach (var variant in variants)
{
    foreach (var (plane, format, rule) in new[] { (ZooPlane.Device, variant.DeviceRule), (ZooPlane.Backend, variant.BackendRule) }
        .SelectMany(p => variant.Formats.Select(f => (p.Item1, f, p.Item2 is { } r ? FormatCounterparts.In(f, r) : null))))
    {
        if (rule is null || options.Plane is { } only && only != plane) continue;
        using var device = ZooDevice.Start(variant.Fault, plane, options.Timeout, format);
        // The whole suite, as a run against this device would be: over vhost-user that includes the checks that
        // judge the suite's own front-end, which a back-end bug can still upset. On packed rings, the checks that judge them.
        var checks = SuiteChecks.All.Where(c => plane == ZooPlane.Backend || !c.VhostUserOnly)
            .Where(c => format == RingFormat.Packed ? c.SplitOnly is null : !c.PackedOnly);
        var runs = new List<CheckRun>();
        foreach (var check in checks)
        {
            var started = Stopwatch.StartNew();
            // FsCheck reports each case as it ends, the failing one last before it shrinks: that moment is detection.
            var lastCaseEnded = TimeSpan.Zero;
            var outcome = device.Run(check, _ => lastCaseEnded = started.Elapsed, options.MaxShrinks);
            runs.Add(new CheckRun(check.Test, outcome, outcome.Passed ? started.Elapsed : lastCaseEnded, started.Elapsed));
            Console.Error.WriteLine($"  {variant.Name} {plane} {format.Label()} {check.Test}: {(outcome.Passed ? "passed" : $"failed ({outcome.Violation?.RequirementId ?? "no rule"}) after {outcome.Cases} case(s)")} in {started.Elapsed.TotalSeconds:0.0} s");
        }
        var row = DetectionRow.Of(variant, plane, rule, runs);
        rows.Add(row);
        // Written as it grows, so a run cut short still leaves the rows it measured.
        if (options.Output is { } partial) File.WriteAllText(partial, DetectionTable.Markdown(rows, clock.Elapsed, options.Timeout, options.MaxShrinks));
        Console.Error.WriteLine($"{row.Variant} ({row.Plane}): {(row.Detected ? $"caught by {row.By}" : "NOT caught")}");
    }
}

var table = DetectionTable.Markdown(rows, clock.Elapsed, options.Timeout, options.MaxShrinks);
Console.WriteLine(table);
if (options.Output is { } path) File.WriteAllText(path, table);
if (options.UpdateDoc is { } document)
    foreach (var plane in new[] { ZooPlane.Device, ZooPlane.Backend }.Where(p => options.Plane is null || options.Plane == p))
    {
        var planeRows = rows.Where(r => r.Plane == plane).ToList();
        var measured = $"Measured {DateTime.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} cores, `{string.Join(' ', args)}`:";
        DocSections.Replace(document, $"zoo-bench:detection:{(plane == ZooPlane.Device ? "device" : "back-end")}",
            measured + "\n\n" + DetectionTable.Markdown(planeRows, TimeSpan.FromTicks(planeRows.Sum(r => r.AllChecks.Ticks)), options.Timeout, options.MaxShrinks));
    }
return rows.All(r => r.Detected) ? 0 : 1;
