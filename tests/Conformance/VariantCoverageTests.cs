using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Conformance;

/// <summary>
/// Every enumerated variant of a check is met in every run (issue 13, class 8). Before, the malformed-chain check drew
/// one of 15 malformations per case, so a run with a random seed often missed some. Each check that enumerates
/// variants now puts all of them in every case; this runs the very case generators the checks use, with their default
/// case counts and fresh random seeds through the suite's own runner, and counts the variants seen. Also: a failure
/// still shrinks, to the one variant that fails.
/// </summary>
[TestFixture]
public sealed class VariantCoverageTests
{
    private const int Runs = 20;

    private static readonly SuiteContext Reference =
        new(new SuiteSettings(DeviceUri.Parse("reference://?pairs=8"), SpecVersions.Primary, Cases: 100, Seed: null, Timeout: TimeSpan.FromSeconds(5)),
            SuiteDevices.Resolver());

    private static int DefaultCases(string test) => SuiteChecks.All.Single(c => c.Test == test).Cases;

    /// <summary>The variants the cases of one run met, run as the suite runs a check: its case count, a random seed.</summary>
    private static HashSet<string> SeenInOneRun<T>(Arbitrary<T> cases, int count, Func<T, IEnumerable<string>> variantsOf)
    {
        var seen = new HashSet<string>();
        var outcome = PropertyRunner.Run("variant coverage", Prop.ForAll(cases, c => seen.UnionWith(variantsOf(c))), Reference.Settings, count);
        Assert.That(outcome.Passed, outcome.Error);
        Assert.That(outcome.Cases, Is.EqualTo(count));
        return seen;
    }

    private static void EveryRunMeetsEvery<T>(string test, Arbitrary<T> cases, Func<T, IEnumerable<string>> variantsOf, IEnumerable<string> variants)
    {
        var all = variants.ToHashSet();
        // The default count, and the least a user can ask for: one case holds every variant.
        foreach (var count in new[] { DefaultCases(test), 1 })
            for (var run = 0; run < Runs; run++)
            {
                var seen = SeenInOneRun(cases, count, variantsOf);
                Assert.That(seen, Is.EquivalentTo(all), $"{test}, {count} case(s), run {run + 1}: missed {string.Join(", ", all.Except(seen))}");
            }
    }

    private static string[] Names<TEnum>() where TEnum : struct, Enum => Enum.GetNames<TEnum>();

    [Test]
    public void Malformed_chains_meet_every_malformation_alone_and_with_a_frame_behind_it() =>
        EveryRunMeetsEvery(nameof(MalformedChainTests.Malformed_descriptor_chains_are_refused_and_the_queue_keeps_working), MalformedChainTests.ChainCases,
            c => c.Cases.Select(x => $"{x.Malformation}/{x.SameKick}"),
            from m in Names<MalformedChainTests.Malformation>() from k in m == "ReceiveOutsideMemory" ? new[] { false } : [false, true] select $"{m}/{k}");

    [Test]
    public void Ring_sizes_meet_every_power_of_two_up_to_256_and_packed_only_sizes() =>
        EveryRunMeetsEvery(nameof(QueueSetupTests.Rings_of_every_size_the_driver_may_choose_work), QueueSetupTests.SizeCases,
            c => c.Cases.Select(x => $"{x.Size}"), Enumerable.Range(0, 9).Select(log => $"{1 << log}").Concat(["3", "5", "12", "100"]));

    [Test]
    public void Overruns_meet_both_rings() =>
        EveryRunMeetsEvery(nameof(MalformedChainTests.An_available_index_beyond_the_ring_size_sets_DEVICE_NEEDS_RESET), MalformedChainTests.OverrunCases,
            c => c.Cases.Select(x => x.OnControlq ? "controlq" : "transmitq1"), ["controlq", "transmitq1"]);

    [Test]
    public void Any_protocol_steering_meets_every_frame_kind()
    {
        foreach (var test in new[] { nameof(AnyProtocolSteeringTests.Frames_of_any_protocol_come_back_only_on_enabled_receive_queues), nameof(AnyProtocolSteeringTests.Frames_of_any_protocol_follow_their_transmitq) })
            EveryRunMeetsEvery(test, AnyProtocolSteeringTests.Cases, c => c.Frames.Select(f => f.Kind.ToString()), Names<AnyProtocolSteeringTests.Kind>());
    }

    [Test]
    public void Command_framings_meet_every_layout() =>
        EveryRunMeetsEvery(nameof(ControlCommandTests.VQ_PAIRS_SET_works_in_any_descriptor_layout), ControlCommandTests.FramingCases(Reference),
            c => c.Cases.Select(x => x.Framing.ToString()), Names<CommandFraming>());

    [Test]
    public void Unknown_commands_meet_both_kinds() =>
        EveryRunMeetsEvery(nameof(ControlCommandTests.Unknown_commands_are_answered_ERR), ControlCommandTests.UnknownCases,
            c => c.Cases.Select(x => x.Class == NetControl.ClassMq ? "MQ command" : "class"), ["MQ command", "class"]);

    [Test]
    public void Malformed_commands_meet_every_malformation() =>
        EveryRunMeetsEvery(nameof(ControlCommandTests.Malformed_commands_leave_the_controlq_working), ControlCommandTests.MalformedCases,
            c => c.Cases.Select(x => x.ToString()), Names<ControlCommandTests.Malformation>());

    [Test]
    public void Rings_past_memory_meet_every_ring_part_and_layout() =>
        EveryRunMeetsEvery(nameof(QueueSetupTests.A_ring_past_the_end_of_guest_memory_is_refused), QueueSetupTests.OutsideCases,
            c => c.Cases.Select(x => $"{x.Target}/{x.Cut}/{x.EventIdx}"),
            from t in Names<QueueSetupTests.Target>() from cut in Names<QueueSetupTests.Cut>() from e in new[] { false, true } select $"{t}/{cut}/{e}");

    [Test]
    public void Owed_notifications_meet_every_queue_and_flag() =>
        EveryRunMeetsEvery(nameof(UsedBufferNotificationTests.A_used_buffer_notification_comes_when_the_driver_asked_for_one), UsedBufferNotificationTests.Cases,
            c => c.Cases.Select(x => $"{x.EventIdx}/{x.Side}/{x.FlagSet}"),
            [.. Names<UsedBufferNotificationTests.Side>().Select(s => $"False/{s}/False"),
             .. from s in Names<UsedBufferNotificationTests.Side>() from f in new[] { false, true } select $"True/{s}/{f}"]);

    [Test]
    public void Quiet_notifications_meet_every_queue_and_used_event_place() =>
        EveryRunMeetsEvery(nameof(UsedBufferNotificationTests.No_used_buffer_notification_comes_when_the_driver_asked_for_none), UsedBufferNotificationTests.QuietCases,
            // The place is told by used_event's offset from the batch, as the check computes it.
            c => c.Cases.Select(x => !x.EventIdx ? $"{x.Side}/none"
                : x.UsedEvent == -1 ? $"{x.Side}/JustBefore"
                : x.UsedEvent == x.Batch ? $"{x.Side}/JustAfter"
                : x.UsedEvent == -2 - x.Before ? $"{x.Side}/BeforeTheEarlierFrames"
                : x.UsedEvent == x.Batch + 7 ? $"{x.Side}/SevenPast"
                : x.UsedEvent == 0x7FFF ? $"{x.Side}/HalfARingAway" : $"{x.Side}/?{x.UsedEvent}"),
            [.. Names<UsedBufferNotificationTests.Side>().Select(s => $"{s}/none"),
             .. from s in Names<UsedBufferNotificationTests.Side>() from at in Names<UsedBufferNotificationTests.UsedEventAt>() select $"{s}/{at}"]);

    [Test]
    public void Out_of_range_pair_counts_meet_zero_and_above_max() =>
        EveryRunMeetsEvery(nameof(PairsRangeTests.Zero_and_above_max_are_rejected_without_state_change), PairsRangeTests.RejectCases(Reference),
            c => c.Cases.Select(x => x.Bad == 0 ? "zero" : x.Bad == x.MaxPairs + 1 ? "just above" : "far above"), ["zero", "just above", "far above"]);

    [Test]
    public void Transmit_completion_meets_every_batch_size() =>
        EveryRunMeetsEvery(nameof(TransmitCompletionTests.Every_transmit_buffer_comes_back_used), TransmitCompletionTests.Cases,
            c => c.Cases.Select(x => $"{x.Batch}"), TransmitCompletionTests.Batches.Select(b => $"{b}"));

    [Test]
    public void Disabled_pair_buffers_meet_every_window() =>
        EveryRunMeetsEvery(nameof(TransmitCompletionTests.Transmit_buffers_on_a_pair_not_in_use_come_back_used), TransmitCompletionTests.DisabledCases,
            c => c.Cases.Select(x => x.Window.ToString()), Names<TransmitCompletionTests.DisabledWindow>());

    [Test]
    public void Data_path_framing_meets_every_layout_and_header() =>
        EveryRunMeetsEvery(nameof(DataPathFramingTests.Frames_cross_in_any_descriptor_layout_with_a_clean_receive_header), DataPathFramingTests.Cases,
            c => c.Cases.Select(x => $"{x.TxIndirect}/{x.RxIndirect}/" +
                (x.TxFlags != 0 ? "UnknownFlags" : x.CsumOffset != 0 ? "ChecksumFieldsWithoutNeedsCsum" : x.HdrLen == 0 && x.CsumStart == 0 ? "None" : "?")),
            from tx in new[] { false, true } from rx in new[] { false, true } from h in Names<DataPathFramingTests.HeaderJunk>() select $"{tx}/{rx}/{h}");

    [Test]
    public void Ring_enable_meets_every_pair_of_histories() =>
        EveryRunMeetsEvery(nameof(VhostUserRingEnableTests.SET_VRING_ENABLE_switches_the_one_ring_it_names), VhostUserRingEnableTests.HistoryCases,
            c => c.Cases.Select(x => $"{x.Transmit}/{x.Receive}"),
            from tx in Names<VhostUserRingEnableTests.History>() from rx in Names<VhostUserRingEnableTests.History>() select $"{tx}/{rx}");

    /// <summary>
    /// Shrinking still works and the counterexample names the variant: a property that fails for one malformation only
    /// (with frames before it) shrinks from a case of all 29 sub-cases to that malformation alone, with no frames before.
    /// </summary>
    [Test]
    public void A_failure_shrinks_to_the_one_variant_that_fails()
    {
        var property = Variants.ForEach(MalformedChainTests.ChainCases, c =>
            Expect.That(c.Malformation != MalformedChainTests.Malformation.NestedIndirect, Rule.RobustRingMalformedChainRefused, $"{c} broke"));
        var outcome = PropertyRunner.Run("shrink", property, Reference.Settings, 5);
        Assert.That(outcome.Passed, Is.False);
        Assert.That(outcome.Cases, Is.EqualTo(1), "the first case holds every malformation, the failing one included");
        Assert.That(outcome.ShrunkCase, Is.EqualTo("NestedIndirect on transmitq1 after 0 frame(s)"), outcome.OriginalCase);
        Assert.That(outcome.Violation?.Message, Does.StartWith("NestedIndirect on transmitq1 after 0 frame(s)"));
        Assert.That(outcome.OriginalCase, Does.StartWith("29 variants, each in turn: Loop on transmitq1"));
    }
}
