using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>The bridge from a property to NUnit: run it against the configured device, fail with the full report.</summary>
public static class Suite
{
    /// <summary>
    /// Runs <paramref name="check"/>, the declaration of the calling [Test, Check] method, with its case count, once per
    /// virtqueue format the run asks for (<see cref="RingChoice"/>). Each format gets its own verdict in the report; the
    /// test fails when any format fails, and says which.
    /// </summary>
    public static PropertyOutcome? Verify(SuiteCheck check)
    {
        var test = TestContext.CurrentContext.Test;
        if (check.Test != test.Name)
            Assert.Fail($"SUITE ERROR, not a finding about the device: {test.Name} runs the check declared as {check.Test}; each [Test] runs its own declaration");
        var ctx = SuiteContext.Current;
        var settings = ctx.Settings;
        SkipUnlessApplicable(test, settings.Version);
        if (settings.Rules is { } chosen && !chosen.Chooses(check))
            Assert.Ignore($"not selected: it names none of {SuiteSettings.RulesVariable}={chosen.Text}");
        if (ConformanceRun.CannotStartCheck(settings) is { } why) NotRun(why);
        if (DeviceHealth.Lost is { } lost) NotRun(lost);
        if (check.VhostUserOnly) Needs.Require<IVhostUserBackEnd>(ctx, Needs.VhostUserBackEnd);
        if (check.PciOnly) Needs.Require<IPciTransport>(ctx, Needs.PciTransport);
        var packedOffered = DeviceFacts.Known(ctx)?.Offered.Has(FeatureBit.RingPacked) ?? false;
        var formats = settings.Rings.Formats(packedOffered);
        // A packed-only check judges in packed format alone: where the run has none, the packed run says why not.
        if (check.PackedOnly) formats = [RingFormat.Packed];
        var ends = new List<FormatEnd>();
        PropertyOutcome? last = null;
        foreach (var format in formats)
        {
            var (end, outcome) = JudgeIn(check, test, ctx, format, packedOffered);
            ends.Add(end);
            last = outcome ?? last;
            // A finding may have left the device broken for every check after it: find out now, while it is clear which check did it.
            if (outcome is { Passed: false } && DeviceHealth.AfterFinding(ctx, test.Name) is { } broken)
            {
                ends.Add(new FormatEnd(ends[^1].Kind, broken));
                break;
            }
        }
        Conclude(ends);
        return last;
    }

    /// <summary>How one format's run of a check ends for NUnit: the kind of result and what to print.</summary>
    private enum EndKind
    {
        Passed,
        Ignored,
        Warned,
        Failed,
    }

    private sealed record FormatEnd(EndKind Kind, string Text);

    private static (FormatEnd, PropertyOutcome?) JudgeIn(SuiteCheck check, TestContext.TestAdapter test, SuiteContext runCtx, RingFormat format,
        bool packedOffered)
    {
        var settings = runCtx.Settings;
        var ring = format.Label();
        var label = $"[{ring}] ";
        CheckRecord Bare(CheckOutcome o, string reason) =>
            new(test.Name, test.ClassName ?? "", RequirementIds(test), CheckedPlanes(test, settings), o, 0, null, Reason: reason) { Ring = ring };
        // Whether the expected-results file lists a failure of this check in this format naming the rule (as this format
        // names it): the one test for a known finding, which the run also uses to leave such a failure unshrunk.
        bool Listed(string rule) => settings.Expected?.Lists(test.Name, FormatCounterparts.In(format, rule), format) == true;
        if (format == RingFormat.Packed && settings.Rings == RingChoice.Split)
        {
            RunRecorder.Add(Bare(CheckOutcome.NotApplicable, $"packed-ring rules, and the run judges split rings only ({RingChoices.Variable}=split)"));
            return (new FormatEnd(EndKind.Ignored, $"{label}not applicable: packed-ring rules, and the run judges split rings only"), null);
        }
        if (format == RingFormat.Packed && !packedOffered)
        {
            RunRecorder.Add(Bare(CheckOutcome.NotApplicable, "the device does not offer VIRTIO_F_RING_PACKED"));
            return (new FormatEnd(EndKind.Ignored, $"{label}not applicable: the device does not offer VIRTIO_F_RING_PACKED"), null);
        }
        if (format == RingFormat.Packed && check.SplitOnly is { } splitOnly)
        {
            RunRecorder.Add(Bare(CheckOutcome.NotApplicable, $"split rings only: {splitOnly}"));
            return (new FormatEnd(EndKind.Ignored, $"{label}not applicable: split rings only: {splitOnly}"), null);
        }
        var ctx = runCtx.WithFormat(format);
        var outcome = InFormat(PropertyRunner.Run(test.Name, check.Property(ctx), settings, check.DeclaredCases,
            known: v => Listed(v.RequirementId)), format);
        var ids = check.RequirementIds.Select(id => FormatCounterparts.In(format, id)).Distinct().ToList();
        var record = Record(outcome, test.Name, test.ClassName ?? "", ids, CheckedPlanes(test, settings), settings, test.FullName, format)
            with
        { Ring = ring };
        var report = outcome.Passed ? "" : FailureReport.Format(outcome, settings, test.FullName, format) + Environment.NewLine + $"Checked: {record.Checked}";
        switch (record.Outcome)
        {
            case CheckOutcome.NotApplicable:
                RunRecorder.Add(record);
                return (new FormatEnd(EndKind.Ignored, $"{label}not applicable: {record.Reason}"), outcome);
            case CheckOutcome.Error:
                RunRecorder.Add(record);
                return (new FormatEnd(EndKind.Failed, $"{label}SUITE ERROR, not a finding about the device: {record.Message}{Environment.NewLine}{report}"), outcome);
            case CheckOutcome.Failed or CheckOutcome.Warning:
                var violated = RequirementCatalogue.Default.Get(outcome.Violation!.RequirementId);
                // A rule the chosen spec version does not have cannot fail certification against that version.
                if (!violated.AppliesTo(settings.Version))
                {
                    var reason = $"{violated.Id} is not in virtio {settings.Version.Label()}; the device did this: {outcome.Violation.Message}";
                    RunRecorder.Add(Bare(CheckOutcome.NotApplicable, reason));
                    return (new FormatEnd(EndKind.Ignored, $"{label}not applicable: {reason}"), outcome);
                }
                if (settings.Expected is { } known && Listed(violated.Id))
                {
                    RunRecorder.Add(record with { Outcome = CheckOutcome.KnownFinding, Reason = $"listed in {known.Path}" });
                    return (new FormatEnd(EndKind.Ignored, $"{label}KNOWN FINDING (listed in {known.Path}): {report}"), outcome);
                }
                RunRecorder.Add(record);
                if (record.Outcome == CheckOutcome.Warning && settings.Strict)
                    return (new FormatEnd(EndKind.Failed,
                        $"{label}{FailureReport.LevelText(violated.Level)} not met (a warning; failed because {SuiteSettings.StrictVariable} is set): {report}"), outcome);
                if (record.Outcome == CheckOutcome.Warning)
                    return (new FormatEnd(EndKind.Warned, $"{label}{FailureReport.LevelText(violated.Level)} not met (does not deny certification): {report}"), outcome);
                return (new FormatEnd(EndKind.Failed, label + report), outcome);
        }
        if (settings.Expected is { } expected && expected.Lists(test.Name, format))
        {
            var message = $"{test.Name} is listed in {expected.Path} as a known finding ({string.Join(", ", expected.For(test.Name))}) but passed " +
                $"{outcome.Cases} case(s) against {settings.Device} with {ring} rings: the device was fixed, or the finding was luck; remove the line.";
            RunRecorder.Add(record with { Outcome = CheckOutcome.UnexpectedPass, Message = message });
            return (new FormatEnd(EndKind.Failed, label + message), outcome);
        }
        RunRecorder.Add(record);
        return (new FormatEnd(EndKind.Passed,
            $"{label}Ok, {outcome.JudgedCases} of {outcome.Cases} case(s) judged against {settings.Device} (checked: {record.Checked}), seed {outcome.SeedText}" +
            (record.Reason is { } note ? $"; {note}" : "")), outcome);
    }

    /// <summary>
    /// A check names split-ring rules where a ring rule is meant; on packed rings the failure is about the packed
    /// counterpart (<see cref="FormatCounterparts"/>).
    /// </summary>
    private static PropertyOutcome InFormat(PropertyOutcome outcome, RingFormat format) =>
        outcome.Violation is { } v && FormatCounterparts.In(format, v.RequirementId) is var id && id != v.RequirementId
            ? outcome with { Violation = v with { RequirementId = id } }
            : outcome;

    /// <summary>
    /// Ends the NUnit test from every format's end: failed when any failed, a warning when any warned, ignored when none
    /// judged anything, passed otherwise; the message carries each format's own.
    /// </summary>
    private static void Conclude(IReadOnlyList<FormatEnd> ends)
    {
        var text = string.Join(Environment.NewLine + Environment.NewLine, ends.Select(e => e.Text));
        if (ends.Any(e => e.Kind == EndKind.Failed)) Assert.Fail(text);
        if (ends.Any(e => e.Kind == EndKind.Warned))
        {
            Assert.Warn(text);
            return;
        }
        if (ends.All(e => e.Kind == EndKind.Ignored)) Assert.Ignore(text);
        TestContext.Out.WriteLine(text);
    }

    /// <summary>
    /// What the report keeps of a property's outcome. The verdict rule (README) lives here: a MUST-level rule or a
    /// binding definition makes a failure; a SHOULD or robustness expectation makes a warning; a violation that no
    /// device can commit (a permission, a driver's rule, a rule not in the catalogue) or a crash of the check makes a
    /// suite error, never a finding about the device. A check none of whose cases judged anything did not pass: it
    /// was not applicable, with the reasons its cases gave, or it is a suite error when they gave none.
    /// </summary>
    public static CheckRecord Record(PropertyOutcome outcome, string test, string fixture, IReadOnlyList<string> ids, string checkedPlanes,
        SuiteSettings settings, string replayFilter, RingFormat? ring = null)
    {
        var record = new CheckRecord(test, fixture, ids, checkedPlanes, CheckOutcome.Passed, outcome.Cases, outcome.SeedText);
        if (outcome.Passed)
        {
            if (outcome.JudgedCases > 0)
                return record with { Reason = PassNote(outcome) };
            return outcome.NotApplicable.Count > 0
                ? record with { Outcome = CheckOutcome.NotApplicable, Reason = outcome.NotApplicableText }
                : record with
                {
                    Outcome = CheckOutcome.Error,
                    Message = $"none of its {outcome.Cases} case(s) judged anything and none said why: a check must judge a rule or say it is not applicable",
                };
        }
        var failed = record with
        {
            Outcome = CheckOutcome.Failed,
            ViolatedRequirement = outcome.Violation?.RequirementId,
            Message = outcome.Violation?.Message ?? outcome.Error,
            ShrunkCase = outcome.ShrunkCase,
            Replay = FailureReport.ReplayCommand(outcome, settings, replayFilter, ring),
            Reason = outcome.Note,
        };
        if (outcome.Violation is not { } v)
            return failed with { Outcome = CheckOutcome.Error, Message = $"the check itself failed (named no rule): {outcome.Error}" };
        if (!RequirementCatalogue.Default.TryGet(v.RequirementId, out var violated))
            return failed with { Outcome = CheckOutcome.Error, Message = $"the check named {v.RequirementId}, which is not in the catalogue: {v.Message}" };
        if (violated.Level == Level.May)
            return failed with { Outcome = CheckOutcome.Error, Message = $"the check named {v.RequirementId} as broken, but it is a MAY: a permission cannot be broken. {v.Message}" };
        if (violated.Actor == Actor.Driver)
            return failed with { Outcome = CheckOutcome.Error, Message = $"the check named {v.RequirementId} as broken, but it binds drivers, not the device: {v.Message}" };
        var warning = !violated.IsMandatory && violated.Level != Level.Definition;
        return failed with { Outcome = warning ? CheckOutcome.Warning : CheckOutcome.Failed, Completed = warning && outcome.Completed };
    }

    private static string? PassNote(PropertyOutcome outcome)
    {
        var notes = new List<string>();
        if (outcome.JudgedCases < outcome.Cases && outcome.NotApplicable.Count > 0)
            notes.Add($"{outcome.Cases - outcome.JudgedCases} case(s) not applicable: {outcome.NotApplicableText}");
        if (outcome.Note is { } n) notes.Add(n);
        return notes.Count == 0 ? null : string.Join("; ", notes);
    }

    /// <summary>Ends the current test as never started (the device cannot be reached, or the run's budget is spent).</summary>
    private static void NotRun(string reason)
    {
        var test = TestContext.CurrentContext.Test;
        var settings = SuiteContext.Current.Settings;
        RunRecorder.Add(new CheckRecord(test.Name, test.ClassName ?? "", RequirementIds(test), CheckedPlanes(test, settings),
            CheckOutcome.NotRun, 0, null, Reason: reason));
        Assert.Ignore($"not run: {reason}");
    }

    /// <summary>Ends the current test as not applicable to this device or version, and says so in the report.</summary>
    public static void NotApplicable(string reason)
    {
        var test = TestContext.CurrentContext.Test;
        var settings = SuiteContext.Current.Settings;
        RunRecorder.Add(new CheckRecord(test.Name, test.ClassName ?? "", RequirementIds(test), CheckedPlanes(test, settings),
            CheckOutcome.NotApplicable, 0, null, Reason: reason));
        Assert.Ignore($"not applicable: {reason}");
    }

    private static List<string> RequirementIds(TestContext.TestAdapter test) =>
        test.Properties[CheckAttribute.RequirementProperty].OfType<string>().ToList();

    /// <summary>Which program a verdict is about: over vhost-user, control-plane rules judge the suite's own front-end.</summary>
    public static string CheckedPlanes(TestContext.TestAdapter test, SuiteSettings settings)
    {
        var planes = test.Properties[CheckAttribute.PlaneProperty].OfType<string>().Select(Enum.Parse<Plane>).ToList();
        return planes.Count == 0 ? "unstated" : string.Join(" and ", planes.Select(p => Planes.Describe(p, Needs.Known<IVhostUserBackEnd>(SuiteContext.Current))));
    }

    /// <summary>Skips a test when none of the requirements it names exists in the spec version being certified.</summary>
    private static void SkipUnlessApplicable(TestContext.TestAdapter test, SpecVersion version)
    {
        var ids = RequirementIds(test);
        if (ids.Count == 0) return;
        var catalogue = RequirementCatalogue.Default;
        if (ids.All(id => catalogue.Contains(id) && !catalogue.Get(id).AppliesTo(version)))
            NotApplicable($"not in virtio {version.Label()}: {string.Join(", ", ids)} came later");
    }
}
