using FsCheck;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>The bridge from a property to NUnit: run it against the configured device, fail with the full report.</summary>
public static class Suite
{
    public static PropertyOutcome? Verify(Property property, int? cases = null)
    {
        var test = TestContext.CurrentContext.Test;
        var settings = SuiteContext.Current.Settings;
        SkipUnlessApplicable(test, settings.Version);
        var outcome = PropertyRunner.Run(test.Name, property, settings, cases);
        var record = Record(outcome, test.Name, test.ClassName ?? "", RequirementIds(test), CheckedPlanes(test, settings), settings, test.FullName);
        if (!outcome.Passed)
        {
            var violated = outcome.Violation is { } v && RequirementCatalogue.Default.TryGet(v.RequirementId, out var r) ? r : null;
            // A rule the chosen spec version does not have cannot fail certification against that version.
            if (violated is not null && !violated.AppliesTo(settings.Version))
                NotApplicable($"{violated.Id} is not in virtio {settings.Version.Label()}; the device did this: {outcome.Violation!.Message}");
            var report = FailureReport.Format(outcome, settings, test.FullName) + Environment.NewLine + $"Checked: {record.Checked}";
            if (settings.Expected is { } known && outcome.Violation is { } found && known.Lists(test.Name, found.RequirementId))
            {
                RunRecorder.Add(record with { Outcome = CheckOutcome.KnownFinding, Reason = $"listed in {known.Path}" });
                Assert.Ignore($"KNOWN FINDING (listed in {known.Path}): {report}");
            }
            RunRecorder.Add(record);
            if (record.Outcome == CheckOutcome.Warning && settings.Strict)
                Assert.Fail($"{FailureReport.LevelText(violated!.Level)} not met (a warning; failed because {SuiteSettings.StrictVariable} is set): {report}");
            if (record.Outcome == CheckOutcome.Warning)
            {
                Assert.Warn($"{FailureReport.LevelText(violated!.Level)} not met (does not deny certification): {report}");
                return outcome;
            }
            Assert.Fail(report);
        }
        if (settings.Expected is { } expected && expected.Lists(test.Name))
        {
            RunRecorder.Add(record with { Outcome = CheckOutcome.Failed, Message = "listed as a known finding but passed" });
            Assert.Fail($"{test.Name} is listed in {expected.Path} as a known finding ({string.Join(", ", expected.For(test.Name))}) but passed " +
                $"{outcome.Cases} case(s) against {settings.Device}: the device was fixed, or the finding was luck; remove the line.");
        }
        RunRecorder.Add(record);
        TestContext.Out.WriteLine($"Ok, {outcome.Cases} case(s) against {settings.Device} (checked: {record.Checked}), seed {outcome.SeedText}");
        return outcome;
    }

    /// <summary>
    /// What the report keeps of a property's outcome. The verdict rule (README) lives here: only a MUST-level
    /// rule or a binding definition makes a failure; a SHOULD or robustness expectation makes a warning.
    /// </summary>
    public static CheckRecord Record(PropertyOutcome outcome, string test, string fixture, IReadOnlyList<string> ids, string checkedPlanes,
        SuiteSettings settings, string replayFilter)
    {
        var record = new CheckRecord(test, fixture, ids, checkedPlanes, CheckOutcome.Passed, outcome.Cases, outcome.SeedText);
        if (outcome.Passed) return record;
        var violated = outcome.Violation is { } v && RequirementCatalogue.Default.TryGet(v.RequirementId, out var r) ? r : null;
        var warning = violated is not null && !violated.IsMandatory && violated.Level != Level.Definition;
        return record with
        {
            Outcome = warning ? CheckOutcome.Warning : CheckOutcome.Failed,
            ViolatedRequirement = outcome.Violation?.RequirementId,
            Message = outcome.Violation?.Message ?? outcome.Error,
            ShrunkCase = outcome.ShrunkCase,
            Replay = FailureReport.ReplayCommand(outcome, settings, replayFilter),
        };
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
        test.Properties[RequirementAttribute.PropertyName].OfType<string>().ToList();

    /// <summary>Which program a verdict is about: over vhost-user, control-plane rules judge the suite's own front-end.</summary>
    public static string CheckedPlanes(TestContext.TestAdapter test, SuiteSettings settings)
    {
        var type = test.ClassName is { } c ? typeof(Suite).Assembly.GetType(c) : null;
        var method = test.MethodName is { } m ? type?.GetMethod(m) : null;
        var attribute = method?.GetCustomAttributes(typeof(PlaneAttribute), false).OfType<PlaneAttribute>().FirstOrDefault()
            ?? type?.GetCustomAttributes(typeof(PlaneAttribute), false).OfType<PlaneAttribute>().FirstOrDefault();
        return attribute is null ? "unstated" : string.Join(" and ", attribute.Planes.Select(p => PlaneAttribute.Describe(p, settings.Device.Scheme)));
    }

    /// <summary>Skips a test when none of the requirements it names exists in the spec version being certified.</summary>
    private static void SkipUnlessApplicable(TestContext.TestAdapter test, SpecVersion version)
    {
        var ids = test.Properties[RequirementAttribute.PropertyName].OfType<string>().ToList();
        if (ids.Count == 0) return;
        var catalogue = RequirementCatalogue.Default;
        if (ids.All(id => catalogue.Contains(id) && !catalogue.Get(id).AppliesTo(version)))
            NotApplicable($"not in virtio {version.Label()}: {string.Join(", ", ids)} came later");
    }
}
