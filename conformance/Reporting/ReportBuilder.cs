using VirtioMq.Spec;

namespace VirtioMq.Conformance.Reporting;

/// <summary>
/// Turns the checks of a run into a verdict per requirement and one for the device. The rule, as README
/// states it: certified only when no applicable device MUST (or MUST NOT) failed, known findings included;
/// SHOULD failures and robustness findings are listed but do not deny certification.
/// </summary>
public static class ReportBuilder
{
    public const string SchemaId = "https://virtio-mq-conformance/report.schema.json#v1";

    public const string VerdictRule =
        "Certified only when every applicable device MUST / MUST NOT rule and binding definition that was checked passed (a known finding is a failure), " +
        "none was left unjudged by a check that stopped at another finding first, every check could judge (a crash of the suite denies it), " +
        "the run ended, and the device offers multiqueue. " +
        "SHOULD failures and robustness findings are listed but do not deny certification. Driver rules are not judged by a device run. " +
        "dotnet test fails exactly when the device is not certified for a reason the expected-results file does not list.";

    public const string DriverVerdictRule =
        "Certified only when every driver MUST / MUST NOT rule and binding definition that was checked passed, and none was left unjudged. " +
        "SHOULD failures are listed but do not deny certification. Device rules are not judged by a driver run: the device is the recorder.";

    /// <param name="device">What was judged: the device URI, or for a driver run a description of the driver.</param>
    public static CertificationReport Build(IReadOnlyList<CheckRecord> checks, RequirementCatalogue catalogue, SpecVersion version,
        string device, IReadOnlyDictionary<string, string> identity, DateTimeOffset runDate, string suiteVersion, string commit,
        RunKind kind = RunKind.Device, RunConditions? run = null)
    {
        run ??= new RunConditions();
        var results = catalogue.All.Select(r => Judge(r, checks, version, kind)).ToList();
        bool Binding(RequirementResult r) => IsMust(catalogue.Get(r.Id), kind);
        var warnings = checks.Where(c => c.Outcome == CheckOutcome.Warning && c.ViolatedRequirement is { } id && catalogue.TryGet(id, out _)).ToList();
        var blockers = Blockers(checks, results, warnings, catalogue, kind, run, Binding);
        var unexpected = blockers.Where(b => !b.Expected).Select(b => b.Text)
            .Concat(checks.Where(c => c.Outcome == CheckOutcome.UnexpectedPass).Select(c => $"{c.Test}: {c.Message}"))
            .ToList();
        return new CertificationReport(
            SchemaId, kind, suiteVersion, commit, version.Label(), device, identity, runDate,
            Certified: blockers.Count == 0,
            run.Complete,
            blockers,
            unexpected,
            RunFails: unexpected.Count > 0,
            kind == RunKind.Driver ? DriverVerdictRule : VerdictRule,
            MustFailures: [.. results.Where(r => r.Verdict == Verdict.Fail && Binding(r)).Select(r => r.Id)],
            KnownFindings: [.. results.Where(r => r.Verdict == Verdict.KnownFinding).Select(r => r.Id)],
            ShouldWarnings: [.. warnings.Where(c => catalogue.Get(c.ViolatedRequirement!).Level != Level.Robustness).Select(c => c.ViolatedRequirement!).Distinct()],
            RobustnessFindings: [.. warnings.Where(c => catalogue.Get(c.ViolatedRequirement!).Level == Level.Robustness).Select(c => c.ViolatedRequirement!).Distinct()],
            Coverage: CoverageOf(catalogue, version, checks),
            Checks: [.. checks.OrderBy(c => c.Fixture, StringComparer.Ordinal).ThenBy(c => c.Test, StringComparer.Ordinal).ThenBy(c => c.Ring, StringComparer.Ordinal).Select(c => new CheckSummary(
                c.Test, c.Ring, Kebab(c.Outcome.ToString()), c.Cases, c.Seed, c.Checked, c.Requirements, c.ViolatedRequirement, c.Replay, c.Reason ?? c.Message))],
            Requirements: results);
    }

    /// <summary>
    /// Every reason the device is not certified, each once. The verdict and the run's exit code are both read from this
    /// one list, so they cannot disagree: the device is certified when it is empty, and the run fails when it holds a
    /// reason the expected-results file does not list.
    /// </summary>
    private static List<Blocker> Blockers(IReadOnlyList<CheckRecord> checks, List<RequirementResult> results, List<CheckRecord> warnings,
        RequirementCatalogue catalogue, RunKind kind, RunConditions run, Func<RequirementResult, bool> binding)
    {
        var b = new List<Blocker>();
        if (run.Unreachable is { } why)
            b.Add(run.UnreachableRule is { } rule
                ? new("must-failure", rule, $"{rule} failed while the suite was reaching the device, so no check could run: {why}")
                : new("unreachable", null, $"the run could not start: {why}"));
        if (run.MultiqueueOffered == false)
            b.Add(new("no-multiqueue", null, "the device does not offer VIRTIO_NET_F_MQ: there is no multiqueue to certify (single-queue rules were still judged)"));
        foreach (var r in results.Where(r => r.Verdict == Verdict.Fail && binding(r)))
            b.Add(new("must-failure", r.Id, $"{r.Id} ({r.Level}) failed: {r.Why}"));
        foreach (var r in results.Where(r => r.Verdict == Verdict.KnownFinding && binding(r)))
            b.Add(new("known-finding", r.Id, $"{r.Id} ({r.Level}) failed, a known finding: {r.Why}", Expected: true));
        // A binding rule whose checks all ran but stopped at a SHOULD or robustness finding before judging it: nothing
        // showed it holds. Without this, a device that refuses every FEATURES_OK (a SHOULD) would be certified on warnings.
        foreach (var r in results.Where(r => r.Verdict == Verdict.NotCovered && r.Why == StoppedEarly && binding(r)))
            b.Add(new("unjudged", r.Id, $"{r.Id} ({r.Level}) was never judged: {string.Join(", ", r.Tests)} stopped at another rule's finding first"));
        foreach (var c in checks.Where(c => c.Outcome == CheckOutcome.Error))
            b.Add(new("suite-error", null, $"{c.Test} could not judge the device: {c.Message}"));
        var notRun = checks.Where(c => c.Outcome == CheckOutcome.NotRun).ToList();
        if (notRun.Count > 0 && run.Unreachable is null)
            b.Add(new("not-run", null, $"{notRun.Count} check(s) never ran ({notRun[0].Reason}): {string.Join(", ", notRun.Select(c => c.Test))}"));
        // A run of chosen rules shows nothing about the others: it never certifies, and says so without failing the run, since
        // skipping what was not asked for is what the user wanted (Kubernetes refuses such a result for certification too).
        if (run.Selection is { } selection)
            b.Add(new("partial-run", null, $"a partial run: only the {checks.Select(c => c.Test).Distinct().Count()} check(s) naming " +
                $"{selection} were run, and a partial run never certifies", Expected: true));
        if (!run.Complete) b.Add(new("incomplete", null, "the run did not end: this report holds only the checks judged before it stopped"));
        if (run.UntrackedFailures > 0)
            b.Add(new("untracked-failure", null, $"{run.UntrackedFailures} test(s) failed without a verdict of the suite: a bug of the suite, see the test log"));
        if (run.Strict && kind == RunKind.Device)
            foreach (var w in warnings)
                b.Add(new("strict-warning", w.ViolatedRequirement, $"{w.ViolatedRequirement} ({LevelText(catalogue.Get(w.ViolatedRequirement!).Level)}) not met, and the run is strict: {w.Message}"));
        return b;
    }

    /// <summary>The normative statements (not definitions) that at least one test names, by level and actor.</summary>
    public static IReadOnlyList<Coverage> CoverageOf(RequirementCatalogue catalogue, SpecVersion version, IReadOnlyList<CheckRecord>? checks = null)
    {
        var named = checks is null ? NamedByTests() : checks.SelectMany(c => c.Requirements).ToHashSet();
        var normative = catalogue.In(version).Where(r => r.Level is not Level.Definition and not Level.Robustness).ToList();
        Coverage Of(string group, IEnumerable<Requirement> rs)
        {
            var list = rs.ToList();
            return new Coverage(group, list.Count, list.Count(r => named.Contains(r.Id)));
        }
        return
        [
            Of("all normative statements", normative),
            .. normative.GroupBy(r => LevelText(r.Level)).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Of($"level {g.Key}", g)),
            .. normative.GroupBy(r => r.Actor.ToString().ToLowerInvariant()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Of($"actor {g.Key}", g)),
            Of("device MUST / MUST NOT", normative.Where(r => r.IsMandatory && r.Actor is Actor.Device or Actor.Both)),
        ];
    }

    /// <summary>Every requirement ID some conformance test names, whether or not it ran in this run.</summary>
    public static HashSet<string> NamedByTests() => Named.Value;

    // Read once: the report is rebuilt after every check, and each rule not covered asks.
    private static readonly Lazy<HashSet<string>> Named = new(() =>
        FormatCounterparts.InAnyFormat(Rules.SuiteChecks.All.SelectMany(c => c.RequirementIds)).ToHashSet());

    private const string StoppedEarly = "its tests stopped at another rule's failure before showing this one holds";

    private static RequirementResult Judge(Requirement r, IReadOnlyList<CheckRecord> checks, SpecVersion version, RunKind kind)
    {
        // A check that found the device breaking a rule it does not name (a lost or duplicated frame, a short used length,
        // seen while it judged something else) still judges that rule: its failure must reach the rule's verdict.
        var mine = checks.Where(c => c.Requirements.Contains(r.Id) || c.ViolatedRequirement == r.Id).ToList();
        var tests = mine.Select(c => c.Test).Distinct().ToList();
        var section = r.Source == RequirementSource.VhostUser ? r.Sections[Requirement.VhostUserSectionKey] : r.AppliesTo(version) ? r.SectionIn(version) : "";
        var rings = mine.Where(c => c.Ring is not null && c.Outcome is CheckOutcome.Passed or CheckOutcome.Failed or CheckOutcome.Warning
                or CheckOutcome.KnownFinding or CheckOutcome.UnexpectedPass)
            .Select(c => c.Ring!).Distinct().Order(StringComparer.Ordinal).ToList();
        RequirementResult Result(Verdict v, string? why = null, CheckRecord? evidence = null) => new(
            r.Id, LevelText(r.Level), r.Actor.ToString().ToLowerInvariant(), r.Source == RequirementSource.VhostUser ? "vhost-user" : "virtio",
            section, r.Title, v, tests, mine.FirstOrDefault()?.Checked, why, evidence?.ShrunkCase, evidence?.Replay)
        { Rings = rings };

        if (!r.AppliesTo(version)) return Result(Verdict.NotApplicable, $"not in virtio {version.Label()}");
        if (kind == RunKind.Device && r.Actor == Actor.Driver) return Result(Verdict.NotApplicable, "a driver rule: a device run does not judge drivers");
        if (kind == RunKind.Driver && r.Actor == Actor.Device) return Result(Verdict.NotApplicable, "a device rule: a driver run does not judge devices");
        if (mine.FirstOrDefault(c => c.ViolatedRequirement == r.Id && c.Outcome is CheckOutcome.Failed or CheckOutcome.Warning) is { } fail)
            return Result(Verdict.Fail, $"{fail.Name}: {fail.Message}", fail);
        if (mine.FirstOrDefault(c => c.ViolatedRequirement == r.Id && c.Outcome == CheckOutcome.KnownFinding) is { } known)
            return Result(Verdict.KnownFinding, $"{known.Name}: {known.Message} ({known.Reason})", known);
        // A warning whose cases all ran to the end judged its other rules too, and they held.
        if (mine.Any(c => c.Outcome is CheckOutcome.Passed or CheckOutcome.UnexpectedPass || c.Outcome == CheckOutcome.Warning && c.Completed))
            return Result(Verdict.Pass);
        if (mine.Count > 0 && mine.All(c => c.Outcome == CheckOutcome.NotApplicable)) return Result(Verdict.NotApplicable, mine[0].Reason);
        // Stopped at a warning: nothing else denies certification, so the rule left unjudged must (see Blockers).
        if (mine.Any(c => c.Outcome == CheckOutcome.Warning)) return Result(Verdict.NotCovered, StoppedEarly);
        if (mine.Any(c => c.Outcome == CheckOutcome.Failed)) return Result(Verdict.NotCovered, "its tests stopped at another rule's failure first");
        if (mine.Any(c => c.Outcome == CheckOutcome.Error)) return Result(Verdict.NotCovered, "its checks could not judge the device (suite errors)");
        if (mine.Any(c => c.Outcome == CheckOutcome.NotRun)) return Result(Verdict.NotCovered, $"its checks never ran: {mine.First(c => c.Outcome == CheckOutcome.NotRun).Reason}");
        return Result(Verdict.NotCovered, NamedByTests().Contains(r.Id) ? "its tests did not run (filtered out)" : "no test yet");
    }

    /// <summary>
    /// A rule whose failure denies certification: a MUST / MUST NOT, or a binding definition (the queue layout, what
    /// VQ_PAIRS_SET means), of the side the run judges.
    /// </summary>
    private static bool IsMust(Requirement r, RunKind kind) =>
        (r.IsMandatory || r.Level == Level.Definition) && (r.Actor == Actor.Both || r.Actor == (kind == RunKind.Driver ? Actor.Driver : Actor.Device));

    public static string LevelText(Level level) => Infrastructure.FailureReport.LevelText(level);

    public static string Kebab(string pascal) =>
        string.Concat(pascal.Select((ch, i) => char.IsUpper(ch) && i > 0 ? "-" + char.ToLowerInvariant(ch) : char.ToLowerInvariant(ch).ToString()));
}
