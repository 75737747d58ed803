using FsCheck;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// Proof for the properties whose bug is a missing answer: each fails, naming its rule, on the reference with that
/// answer hidden, and passes on the reference as it is.
/// </summary>
[TestFixture]
public sealed class MaskedDeviceDetectionTests
{
    public static IEnumerable<TestCaseData> Cases() =>
    [
        new TestCaseData("needs-reset", (Func<SuiteContext, Property>)MalformedChainTests.AnImpossibleAvailableIndexNeedsAReset, MalformedChainTests.OverrunCaseCount, Rule.CoreStatusDevNeedsReset)
            .SetArgDisplayNames("needs-reset", "impossible avail idx"),
        new TestCaseData("notifications", (Func<SuiteContext, Property>)UsedBufferNotificationTests.NotificationsAreSentWhenOwed, UsedBufferNotificationTests.CaseCount, "ring.notif.dev.no-event-idx|ring.notif.dev.event-idx")
            .SetArgDisplayNames("notifications", "used buffer notifications"),
        new TestCaseData("bug=notify-always", (Func<SuiteContext, Property>)UsedBufferNotificationTests.NoNotificationWhenNoneIsOwed, UsedBufferNotificationTests.QuietCaseCount,
                "ring.notif.dev.no-event-idx-quiet|ring.notif.dev.event-idx-quiet")
            .SetArgDisplayNames("notify-always", "no notification when none is owed"),
        new TestCaseData("bug=needs-reset-kept", (Func<SuiteContext, Property>)MalformedChainTests.AnImpossibleAvailableIndexNeedsAReset, MalformedChainTests.OverrunCaseCount, Rule.CoreStatusResetValue)
            .SetArgDisplayNames("needs-reset-kept", "impossible avail idx, then a reset"),
        new TestCaseData("bug=no-one-entry-rings", (Func<SuiteContext, Property>)QueueSetupTests.EveryQueueSizeWorks, 20, Rule.RingDefQueueSize)
            .SetArgDisplayNames("no-one-entry-rings", "rings of every size"),
        new TestCaseData("bug=reads-past-memory", (Func<SuiteContext, Property>)QueueSetupTests.QueuesPastTheEndOfMemoryAreRefused, QueueSetupTests.OutsideCaseCount,
                Rule.RobustRingQueueOutsideMemoryRefused)
            .SetArgDisplayNames("reads-past-memory", "a ring past the end of memory"),
        new TestCaseData("bug=used-idx-saturates", (Func<SuiteContext, Property>)IndexWrapTests.DataRingsCrossTheWrap, 3, IndexWrapTests.UsedWrap)
            .SetArgDisplayNames("used-idx-saturates", "receive and transmit rings across the wrap"),
        new TestCaseData("bug=used-idx-saturates", (Func<SuiteContext, Property>)IndexWrapTests.ControlqCrossesTheWrap, 2, IndexWrapTests.UsedWrap)
            .SetArgDisplayNames("used-idx-saturates", "the controlq across the wrap"),
        new TestCaseData("bug=small-rss-limits", (Func<SuiteContext, Property>)RssTests.ConfigFields, 1, Rule.NetCfgDevRssKeySize)
            .SetArgDisplayNames("small-rss-limits", "RSS key size and table length below the minimum"),
    ];

    [Test, TestCaseSource(nameof(Cases))]
    public void The_property_fails_on_the_device_without_the_answer(string hidden, Func<SuiteContext, Property> property, int cases, string rules)
    {
        var ctx = Context($"masked://?pairs=8&{(hidden.Contains('=') ? hidden : $"hide={hidden}")}");
        var outcome = PropertyRunner.Run(hidden, property(ctx), ctx.Settings, cases);
        Assert.That(outcome.Passed, Is.False, $"passed {outcome.Cases} case(s) with {hidden} hidden");
        Assert.That(outcome.Violation?.RequirementId, Is.AnyOf(rules.Split('|')), FailureReport.Format(outcome, ctx.Settings, hidden));
    }

    [Test, TestCaseSource(nameof(Cases))]
    public void The_property_passes_on_the_reference(string hidden, Func<SuiteContext, Property> property, int cases, string rules)
    {
        var ctx = Context("reference://?pairs=8");
        var outcome = PropertyRunner.Run(hidden, property(ctx), ctx.Settings, cases);
        Assert.That(outcome.Passed, Is.True, () => FailureReport.Format(outcome, ctx.Settings, hidden));
    }

    private static SuiteContext Context(string uri) => TestContexts.For(uri);
}
