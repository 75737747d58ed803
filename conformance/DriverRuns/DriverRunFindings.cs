using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.DriverRuns;

/// <summary>
/// A driver's expected-results file, read the way a device's is (<see cref="KnownFindings"/>): a judged check that
/// fails naming a listed rule becomes a known finding; a listed check that passes, unless listed as intermittent, is
/// news, and fails the run until its line goes.
/// </summary>
public static class DriverRunFindings
{
    public static IReadOnlyList<CheckRecord> Apply(IReadOnlyList<CheckRecord> checks, KnownFindings? known, RingFormat format) =>
        known is null ? checks : [.. checks.Select(c => Apply(c, known, format))];

    private static CheckRecord Apply(CheckRecord c, KnownFindings known, RingFormat format) => c.Outcome switch
    {
        CheckOutcome.Failed or CheckOutcome.Warning when c.ViolatedRequirement is { } id && known.Lists(c.Test, id, format) =>
            c with { Outcome = CheckOutcome.KnownFinding, Reason = $"listed in {known.Path}" },
        CheckOutcome.Passed when known.Lists(c.Test, format) =>
            c with
            {
                Outcome = CheckOutcome.UnexpectedPass,
                Message = $"{c.Test} is listed in {known.Path} as a known finding ({string.Join(", ", known.For(c.Test))}) but passed " +
                          $"{c.Cases} case(s): the driver was fixed, or the finding was luck; remove the line.",
            },
        _ => c,
    };
}
