namespace VirtioMq.Conformance.Reporting;

/// <summary>One column of the matrix: a device and how its run ended.</summary>
public sealed record MatrixDevice(string Name, string Device, bool Certified, bool Complete, string SuiteCommit, DateTimeOffset RunDate,
    IReadOnlyList<string> NotCertifiedBecause);

/// <summary>One device's verdict on one requirement, with what a reader needs to follow a failure up.</summary>
public sealed record MatrixCell(Verdict Verdict, IReadOnlyList<string> Rings, IReadOnlyList<string> Tests, string? Why, string? Counterexample, string? Replay);

/// <summary>One requirement across every device; a null cell is a device whose run did not list the rule at all.</summary>
public sealed record MatrixRow(string Id, string Level, string Actor, string Section, string Title, string Chapter, IReadOnlyList<MatrixCell?> Cells);

/// <summary>
/// The interop matrix (matrix.json; matrix.html is its view): requirements down, devices across, each cell a device's
/// verdict, as Autobahn|Testsuite and wpt.fyi lay out many implementations of one specification. Built only from report.json
/// files, so a column can come from any machine or any day; each column says which suite commit and date it is.
/// </summary>
/// <param name="HiddenRows">Requirements no device judged (every cell not-applicable or not-covered): counted, not shown.</param>
public sealed record InteropMatrix(string Schema, DateTimeOffset Built, string SpecVersion, IReadOnlyList<MatrixDevice> Devices,
    IReadOnlyList<MatrixRow> Rows, int HiddenRows)
{
    public const string SchemaId = "https://virtio-mq-conformance/matrix.schema.json#v1";

    public static InteropMatrix Of(IReadOnlyList<(string Name, CertificationReport Report)> columns, DateTimeOffset built)
    {
        if (columns.Count == 0) throw new ArgumentException("a matrix needs at least one report", nameof(columns));
        var duplicate = columns.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"two columns are named '{duplicate.Key}'", nameof(columns));
        var byId = columns.Select(c => c.Report.Requirements.ToDictionary(q => q.Id)).ToList();
        // Catalogue order, as the first report lists it; a rule only a later report knows (another suite commit) follows.
        var ids = columns.SelectMany(c => c.Report.Requirements.Select(q => q.Id)).Distinct().ToList();
        var rows = new List<MatrixRow>();
        var hidden = 0;
        foreach (var id in ids)
        {
            var cells = byId.Select(d => d.TryGetValue(id, out var q) ? Cell(q) : null).ToList();
            if (!cells.Any(c => c?.Verdict is Verdict.Pass or Verdict.Fail or Verdict.KnownFinding))
            {
                hidden++;
                continue;
            }
            var q = byId.Select(d => d.GetValueOrDefault(id)).First(q => q is not null)!;
            rows.Add(new MatrixRow(q.Id, q.Level, q.Actor, q.Section, q.Title, MarkdownReport.SectionFamily(q), cells));
        }
        var devices = columns.Select(c => new MatrixDevice(c.Name, c.Report.Device, c.Report.Certified, c.Report.Complete, c.Report.SuiteCommit,
            c.Report.RunDate, [.. c.Report.NotCertifiedBecause.Select(b => b.Text + (b.Expected ? " (expected)" : ""))])).ToList();
        return new InteropMatrix(SchemaId, built, columns[0].Report.SpecVersion, devices, rows, hidden);
    }

    private static MatrixCell Cell(RequirementResult q) => new(q.Verdict, q.Rings, q.Tests, q.Why, q.Counterexample, q.Replay);
}
