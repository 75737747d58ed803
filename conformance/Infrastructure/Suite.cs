using FsCheck;
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
        if (!outcome.Passed)
        {
            // A rule the chosen spec version does not have cannot fail certification against that version.
            if (outcome.Violation is { } v && RequirementCatalogue.Default.Contains(v.RequirementId)
                && !RequirementCatalogue.Default.Get(v.RequirementId).AppliesTo(settings.Version))
                Assert.Inconclusive($"not applicable: {v.RequirementId} is not in virtio {settings.Version.Label()}; the device did this: {v.Message}");
            var report = FailureReport.Format(outcome, settings, test.FullName) + Environment.NewLine + $"Checked: {CheckedPlanes(test, settings)}";
            if (settings.Expected is { } known && outcome.Violation is { } found && known.Lists(test.Name, found.RequirementId))
                Assert.Ignore($"KNOWN FINDING (listed in {known.Path}): {report}");
            Assert.Fail(report);
        }
        if (settings.Expected is { } expected && expected.Lists(test.Name))
            Assert.Fail($"{test.Name} is listed in {expected.Path} as a known finding ({string.Join(", ", expected.For(test.Name))}) but passed " +
                $"{outcome.Cases} case(s) against {settings.Device}: the device was fixed, or the finding was luck; remove the line.");
        TestContext.Out.WriteLine($"Ok, {outcome.Cases} case(s) against {settings.Device} (checked: {CheckedPlanes(test, settings)}), seed {outcome.SeedText}");
        return outcome;
    }

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
            Assert.Ignore($"not applicable to virtio {version.Label()}: {string.Join(", ", ids)} came later");
    }
}
