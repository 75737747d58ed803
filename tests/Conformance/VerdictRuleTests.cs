using VirtioMq.Conformance.Reporting;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Conformance;

/// <summary>
/// The verdict rule's edge: a check that names a MUST rule but stopped at a SHOULD finding before judging it has not
/// shown the MUST holds. Found by mutation testing: a device that reset on every status write failed every check on
/// core.feat.dev.accept-valid-subset (a SHOULD) and was certified on warnings alone.
/// </summary>
[TestFixture]
public sealed class VerdictRuleTests
{
    private static CertificationReport Report(params CheckRecord[] checks) =>
        ReportBuilder.Build(checks, RequirementCatalogue.Default, SpecVersions.Primary, "reference://?pairs=8",
            new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, "1.0.0", "0");

    private static CheckRecord Check(CheckOutcome outcome, string? violated = null) =>
        new("Frames_come_back_only_on_enabled_receive_queues", "VirtioMq.Conformance.Rules.QueueMappingTests",
            [Rule.NetMqDevRxLimitAfterUsed], "the device's data plane", outcome, 1, "(1,1)", violated, "refused FEATURES_OK");

    [Test]
    public void A_MUST_rule_left_unjudged_by_a_SHOULD_finding_denies_certification()
    {
        var report = Report(Check(CheckOutcome.Warning, Rule.CoreFeatDevAcceptValidSubset));
        Assert.That(report.Certified, Is.False);
        Assert.That(report.ShouldWarnings, Is.EqualTo(new[] { Rule.CoreFeatDevAcceptValidSubset }));
        Assert.That(report.Requirements.Single(r => r.Id == Rule.NetMqDevRxLimitAfterUsed).Verdict, Is.EqualTo(Verdict.NotCovered));
    }

    [Test]
    public void The_same_rule_judged_by_another_check_keeps_the_certification()
    {
        var report = Report(Check(CheckOutcome.Warning, Rule.CoreFeatDevAcceptValidSubset), Check(CheckOutcome.Passed));
        Assert.That(report.Certified, Is.True);
    }

    [Test]
    public void A_SHOULD_finding_alone_does_not_deny_certification()
    {
        var report = Report(new CheckRecord("Frames_are_steered_to_the_receiveq_of_their_transmitq", "VirtioMq.Conformance.Rules.QueueMappingTests",
            [Rule.NetMqDevFollowTx], "the device's data plane", CheckOutcome.Warning, 4, "(1,1)", Rule.NetMqDevFollowTx, "came back on receiveq1"));
        Assert.That(report.Certified, Is.True);
    }

    [Test]
    public void A_SHOULD_noted_while_every_case_ran_on_leaves_the_MUST_rules_judged()
    {
        var report = Report(Check(CheckOutcome.Warning, Rule.CoreFeatDevAcceptValidSubset) with { Completed = true });
        Assert.That(report.Certified, Is.True);
        Assert.That(report.Requirements.Single(r => r.Id == Rule.NetMqDevRxLimitAfterUsed).Verdict, Is.EqualTo(Verdict.Pass));
    }

    [Test]
    public void A_check_that_could_not_judge_denies_certification_and_fails_the_run()
    {
        var report = Report(Check(CheckOutcome.Error) with { Message = "the check itself failed" }, Check(CheckOutcome.Passed));
        Assert.That(report.Certified, Is.False);
        Assert.That(report.RunFails, Is.True);
    }

    [Test]
    public void A_partial_run_never_certifies_and_does_not_fail_for_what_it_left_out()
    {
        var report = ReportBuilder.Build([Check(CheckOutcome.Passed)], RequirementCatalogue.Default, SpecVersions.Primary, "reference://?pairs=8",
            new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, "1.0.0", "0", run: new RunConditions(Selection: "net.mq.*"));
        Assert.Multiple(() =>
        {
            Assert.That(report.Certified, Is.False);
            Assert.That(report.RunFails, Is.False);
            Assert.That(report.NotCertifiedBecause.Single().Kind, Is.EqualTo("partial-run"));
            Assert.That(report.NotCertifiedBecause.Single().Text, Does.Contain("net.mq.*"));
        });
    }

    [Test]
    public void A_partial_run_that_finds_a_violation_still_fails()
    {
        var report = ReportBuilder.Build([Check(CheckOutcome.Failed, Rule.NetMqDevRxLimitAfterUsed)], RequirementCatalogue.Default, SpecVersions.Primary,
            "reference://?pairs=8", new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, "1.0.0", "0", run: new RunConditions(Selection: "net.mq.*"));
        Assert.That(report.RunFails, Is.True);
    }

    [Test]
    public void A_rule_selection_comes_from_the_run_parameters_and_a_wrong_one_is_refused()
    {
        var settings = VirtioMq.Conformance.Infrastructure.SuiteSettings.FromEnvironment(name => name == "rules" ? "net.mq.dev.*" : null);
        Assert.That(settings.Rules?.Text, Is.EqualTo("net.mq.dev.*"));
        Assert.That(() => VirtioMq.Conformance.Infrastructure.SuiteSettings.FromEnvironment(name => name == "rules" ? "net.nothing.*" : null),
            Throws.TypeOf<FormatException>().With.Message.Contains("names no requirement"));
    }

    /// <summary>
    /// The verdict and the run's result are read from one list of reasons. Over any mix of check outcomes with no
    /// expected-results file, the run fails exactly when the device is not certified; known findings are the only
    /// reasons that may stand without failing it.
    /// </summary>
    [FsCheck.NUnit.Property(MaxTest = 300)]
    public bool The_run_fails_exactly_when_the_device_is_not_certified(CheckOutcome[] outcomes, bool incomplete, bool? multiqueue)
    {
        string[] rules = [Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevFollowTx, Rule.RobustMqPairsSetZeroRejected, Rule.NetTxDefSent];
        var checks = outcomes.Take(12).Select((o, i) => new CheckRecord($"check{i}", "F", [rules[i % rules.Length]], "data", o, 1, "(1,1)",
            o is CheckOutcome.Failed or CheckOutcome.Warning or CheckOutcome.KnownFinding ? rules[i % rules.Length] : null, "m")).ToList();
        var report = ReportBuilder.Build(checks, RequirementCatalogue.Default, SpecVersions.Primary, "reference://?pairs=8",
            new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, "1.0.0", "0", run: new RunConditions(!incomplete, multiqueue));
        var onlyKnown = report.NotCertifiedBecause.All(b => b.Expected) && checks.All(c => c.Outcome != CheckOutcome.UnexpectedPass);
        return report.RunFails == (!report.Certified && !onlyKnown || checks.Any(c => c.Outcome == CheckOutcome.UnexpectedPass))
            && (report.Certified ? !report.RunFails || checks.Any(c => c.Outcome == CheckOutcome.UnexpectedPass) : report.NotCertifiedBecause.Count > 0);
    }
}
