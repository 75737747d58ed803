using FsCheck;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.ModelBased;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// One check of the suite outside NUnit: the test's name, the rules it names, its default case count, whether it
/// binds only vhost-user back-ends, and its property. The bug zoo's tests and benchmark run the suite through this
/// list; a test of the suite keeps it equal to the [Test] methods.
/// </summary>
public sealed record SuiteCheck(string Test, IReadOnlyList<string> RequirementIds, int Cases, bool VhostUserOnly, Func<SuiteContext, Property> Property)
{
    public bool AppliesTo(string scheme) => !VhostUserOnly || scheme == "vhost-user";

    /// <summary>The planes the test judges, from its [Plane] attribute (or its fixture's).</summary>
    public IReadOnlyList<Plane> Planes => _planes ??= PlanesOf(Test);
    private IReadOnlyList<Plane>? _planes;

    /// <summary>Whether the check can see a bug of a vhost-user back-end: over vhost-user the control plane is the suite's own front-end.</summary>
    public bool JudgesBackEnds => Planes.Contains(Plane.Data);

    private static IReadOnlyList<Plane> PlanesOf(string test)
    {
        var method = typeof(SuiteCheck).Assembly.GetTypes().SelectMany(t => t.GetMethods()).First(m => m.Name == test);
        var attribute = method.GetCustomAttributes(typeof(PlaneAttribute), false).OfType<PlaneAttribute>().FirstOrDefault()
            ?? method.DeclaringType!.GetCustomAttributes(typeof(PlaneAttribute), false).OfType<PlaneAttribute>().First();
        return attribute.Planes;
    }
    public override string ToString() => Test;
}

public static class SuiteChecks
{
    private const int Default = 100;

    private static readonly string[] MandatoryMapping = [.. QueueMappingTests.MandatoryRules];

    private static SuiteCheck Check(string test, string[] ids, Func<SuiteContext, Property> property, int cases = Default) => new(test, ids, cases, false, property);
    private static SuiteCheck VhostUser(string test, string[] ids, Func<SuiteContext, Property> property, int cases) => new(test, ids, cases, true, property);

    /// <summary>Every check, in the order a run meets them; case counts are those the [Test] methods pass.</summary>
    public static IReadOnlyList<SuiteCheck> All { get; } =
    [
        Check(nameof(ControlCommandTests.VQ_PAIRS_SET_works_in_any_descriptor_layout), ["ring.framing.dev.no-layout-assumption"], ControlCommandTests.AnyFramingIsAccepted, ControlCommandTests.FramingCaseCount),
        Check(nameof(ControlCommandTests.Unknown_commands_are_answered_ERR), ["robust.ctrl.unknown-command-rejected"], ControlCommandTests.UnknownCommandsAreRejected, ControlCommandTests.UnknownCaseCount),
        Check(nameof(ControlCommandTests.Malformed_commands_leave_the_controlq_working), ["robust.ctrl.malformed-survives"], ControlCommandTests.MalformedCommandsLeaveTheDeviceWorking, ControlCommandTests.MalformedCaseCount),
        Check(nameof(ControlCommandTests.VQ_PAIRS_SET_without_MQ_is_answered_ERR), ["robust.mq.pairs-set-without-mq-rejected"], ControlCommandTests.PairsSetWithoutMqIsRejected, 10),
        Check(nameof(ControlqPlacementTests.Controlq_is_at_2N_and_nowhere_else), ["net.vq.def.layout"], ControlqPlacementTests.ControlqAnswersOnlyAtItsIndex),
        Check(nameof(RenegotiationTests.The_controlq_moves_with_the_features_negotiated_after_reset), ["net.vq.def.layout"], RenegotiationTests.ControlqFollowsTheLatestNegotiation, 40),
        Check(nameof(DeviceOperationTests.After_reset_the_device_leaves_the_old_rings_alone), ["core.reset.dev.quiesce", "core.reset.dev.status-zero"], DeviceOperationTests.ResetQuiesces, 20),
        Check(nameof(DeviceOperationTests.No_queue_is_used_before_DRIVER_OK), ["core.status.dev.no-use-before-driver-ok"], DeviceOperationTests.NothingIsConsumedBeforeDriverOk, 20),
        Check(nameof(DeviceOperationTests.Received_packets_have_one_buffer_and_an_honest_length), ["net.rx.dev.num-buffers-1", "ring.used.dev.write-len-bytes"],
            DeviceOperationTests.ReceivedPacketsAreWellFormed, 30),
        Check(nameof(FeatureNegotiationTests.Every_valid_feature_subset_is_accepted), ["core.feat.dev.accept-valid-subset"], FeatureNegotiationTests.ValidSubsetsAreAccepted, 40),
        Check(nameof(FeatureNegotiationTests.MQ_without_CTRL_VQ_is_refused), ["robust.feat.invalid-subset-refused"], FeatureNegotiationTests.MqWithoutCtrlVqIsRefused, 1),
        Check(nameof(PairsRangeTests.Max_virtqueue_pairs_is_in_range_and_MQ_comes_with_CTRL_VQ),
            ["net.cfg.dev.max-pairs-range", "core.cfg.dev.readable-before-features-ok", "core.feat.dev.no-unsatisfied-dependency"], PairsRangeTests.ConfigRangeAndDependencies),
        Check(nameof(PairsRangeTests.Every_pair_count_from_1_to_max_is_accepted_and_usable), ["net.mq.def.vq-pairs-set", "net.mq.dev.rx-limit-after-used"],
            PairsRangeTests.EveryPairCountInRangeIsAcceptedAndUsed),
        Check(nameof(PairsRangeTests.Zero_and_above_max_are_rejected_without_state_change), ["robust.mq.pairs-set-zero-rejected", "robust.mq.pairs-set-above-max-rejected"],
            PairsRangeTests.OutOfRangePairCountsAreRejected, PairsRangeTests.RejectCaseCount),
        Check(nameof(QueueMappingTests.Frames_come_back_only_on_enabled_receive_queues), MandatoryMapping, c => QueueMappingTests.Mapping(c, MandatoryMapping)),
        Check(nameof(QueueMappingTests.Frames_are_steered_to_the_receiveq_of_their_transmitq), ["net.mq.dev.follow-tx"], c => QueueMappingTests.Mapping(c, "net.mq.dev.follow-tx")),
        Check(nameof(ResetRestoreTests.After_reset_only_receiveq1_is_used_until_VQ_PAIRS_SET),
            ["net.mq.dev.rx-q1-after-reset", "core.reset.dev.status-zero", "core.feat.dev.renegotiate-after-reset"], ResetRestoreTests.OnlyReceiveq1AfterReset),
        Check(nameof(ResetRestoreTests.Freeze_and_restore_bring_back_the_previous_pairs),
            ["net.mq.def.vq-pairs-set", "net.mq.dev.rx-limit-after-used", "core.feat.dev.renegotiate-after-reset"], ResetRestoreTests.FreezeRestoreKeepsPairs),
        Check(nameof(DataPathFramingTests.Frames_cross_in_any_descriptor_layout_with_a_clean_receive_header),
            ["ring.framing.dev.no-layout-assumption", "net.tx.dev.ignore-unknown-flags", "net.rx.dev.flags-no-guest-csum", "net.rx.dev.gso-types",
             "net.rx.dev.num-buffers-1", "ring.used.dev.write-len-bytes"], DataPathFramingTests.AnyLayoutCarriesTheSameFrame, DataPathFramingTests.CaseCount),
        Check(nameof(MalformedChainTests.Malformed_descriptor_chains_are_refused_and_the_queue_keeps_working), ["robust.ring.malformed-chain-refused"],
            MalformedChainTests.MalformedChainsAreRefused, MalformedChainTests.ChainCaseCount),
        Check(nameof(MalformedChainTests.An_available_index_beyond_the_ring_size_sets_DEVICE_NEEDS_RESET), ["core.status.dev.needs-reset", "core.status.reset-value"],
            MalformedChainTests.AnImpossibleAvailableIndexNeedsAReset, MalformedChainTests.OverrunCaseCount),
        Check(nameof(UsedBufferNotificationTests.A_used_buffer_notification_comes_when_the_driver_asked_for_one), ["ring.notif.dev.no-event-idx", "ring.notif.dev.event-idx"],
            UsedBufferNotificationTests.NotificationsAreSentWhenOwed, UsedBufferNotificationTests.CaseCount),
        Check(nameof(UsedBufferNotificationTests.No_used_buffer_notification_comes_when_the_driver_asked_for_none),
            ["ring.notif.dev.no-event-idx-quiet", "ring.notif.dev.event-idx-quiet"], UsedBufferNotificationTests.NoNotificationWhenNoneIsOwed, UsedBufferNotificationTests.QuietCaseCount),
        Check(nameof(AnyProtocolSteeringTests.Frames_of_any_protocol_come_back_only_on_enabled_receive_queues),
            ["net.vq.def.layout", "net.mq.def.vq-pairs-set", "net.mq.dev.rx-limit-after-used", "net.mq.dev.rx-q1-after-reset"],
            ctx => AnyProtocolSteeringTests.Steering(ctx, "net.vq.def.layout", "net.mq.def.vq-pairs-set", "net.mq.dev.rx-limit-after-used", "net.mq.dev.rx-q1-after-reset"), 40),
        Check(nameof(AnyProtocolSteeringTests.Frames_of_any_protocol_follow_their_transmitq), ["net.mq.dev.follow-tx"],
            ctx => AnyProtocolSteeringTests.Steering(ctx, "net.mq.dev.follow-tx"), 40),
        Check(nameof(QueueSetupTests.Rings_of_every_size_the_driver_may_choose_work), ["ring.def.queue-size"], QueueSetupTests.EveryQueueSizeWorks, QueueSetupTests.SizeCaseCount),
        Check(nameof(QueueSetupTests.A_ring_past_the_end_of_guest_memory_is_refused), ["robust.ring.queue-outside-memory-refused"],
            QueueSetupTests.QueuesPastTheEndOfMemoryAreRefused, QueueSetupTests.OutsideCaseCount),
        Check(nameof(TransmitCompletionTests.Every_transmit_buffer_comes_back_used), ["ring.used.def.returns-buffers"],
            TransmitCompletionTests.EveryTransmitBufferIsReturned, TransmitCompletionTests.CaseCount),
        Check(nameof(TransmitCompletionTests.Transmit_buffers_on_a_pair_not_in_use_come_back_used),
            ["ring.used.def.returns-buffers", "robust.ring.disabled-tx-returned", "vu.ring.disabled-tx-discard"],
            TransmitCompletionTests.DisabledPairBuffersAreReturned, TransmitCompletionTests.DisabledCaseCount),
        Check(nameof(IndexWrapTests.Receive_and_transmit_rings_keep_working_across_the_index_wrap), [IndexWrapTests.AvailWrap, IndexWrapTests.UsedWrap],
            IndexWrapTests.DataRingsCrossTheWrap, 3),
        Check(nameof(IndexWrapTests.The_controlq_keeps_working_across_the_index_wrap), [IndexWrapTests.AvailWrap, IndexWrapTests.UsedWrap, "net.mq.def.vq-pairs-set"],
            IndexWrapTests.ControlqCrossesTheWrap, 2),
        Check(nameof(ModelBasedTests.Random_command_sequences_match_the_model),
            ["net.vq.def.layout", "net.mq.def.vq-pairs-set", "net.mq.dev.rx-limit-after-used", "net.mq.dev.rx-q1-after-reset", "net.mq.dev.follow-tx",
             "core.reset.dev.status-zero", "core.feat.dev.renegotiate-after-reset", "robust.mq.pairs-set-zero-rejected", "robust.mq.pairs-set-above-max-rejected"],
            ModelBasedTests.DeviceFollowsTheModel),
        VhostUser(nameof(VhostUserDataPlaneTests.The_back_end_offers_the_MQ_protocol_feature), ["vu.mq.protocol-feature-advertised"], VhostUserDataPlaneTests.OffersMqProtocolFeature, 1),
        VhostUser(nameof(VhostUserDataPlaneTests.GET_QUEUE_NUM_covers_only_pairs_the_back_end_serves), ["vu.mq.get-queue-num-reply"], VhostUserDataPlaneTests.QueueNumIsTruthful, 10),
        VhostUser(nameof(VhostUserDataPlaneTests.Disabled_rings_are_drained_and_receive_nothing), ["vu.ring.disabled-tx-discard", "vu.ring.disabled-rx-no-packets", "vu.ring.enabled-processing"],
            VhostUserDataPlaneTests.DisabledRingsAreDrainedAndSilent, 20),
        VhostUser(nameof(VhostUserDataPlaneTests.GET_VRING_BASE_stops_and_SET_VRING_BASE_resumes_without_loss_or_duplicates),
            ["vu.get-base.reply-last-avail", "vu.ring.stop-on-get-base", "vu.set-base.resume"], VhostUserDataPlaneTests.StopAndResumeLosesNothing, 20),
        VhostUser(nameof(VhostUserRingEnableTests.SET_VRING_ENABLE_switches_the_one_ring_it_names), ["vu.mq.enable-per-ring", "vu.ring.disabled-rx-no-packets", "vu.ring.disabled-tx-discard"],
            VhostUserRingEnableTests.EachRingHasItsOwnEnableState, VhostUserRingEnableTests.CaseCount),
        VhostUser(nameof(VhostUserResumeTests.A_ring_resumes_at_any_index_GET_VRING_BASE_gave), ["vu.get-base.reply-last-avail", "vu.set-base.resume"],
            VhostUserResumeTests.ResumeWhereverTheRingStopped, 20),
        VhostUser(nameof(VhostUserReplyAckTests.A_request_with_need_reply_gets_its_ack), ["vu.reply-ack.must-reply"], VhostUserReplyAckTests.NeedReplyGetsAnAck, 2),
    ];
}
