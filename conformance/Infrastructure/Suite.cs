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
            Assert.Fail(FailureReport.Format(outcome, settings, test.FullName));
        }
        TestContext.Out.WriteLine($"Ok, {outcome.Cases} case(s) against {settings.Device}, seed {outcome.SeedText}");
        return outcome;
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
