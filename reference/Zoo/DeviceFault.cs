using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;

namespace VirtioMq.Reference.Zoo;

/// <summary>
/// Named bugs the reference device can be built with, each one a multiqueue bug seen in real devices.
/// They exist to prove that the conformance suite catches them (tests/ runs the suite against each one).
/// Each is a <see cref="Deviation"/> (reference/Zoo/Variants) plugged into the healthy device's seams.
/// </summary>
public enum DeviceFault
{
    /// <summary>controlq at index 2 even when MQ is negotiated (should be 2N).</summary>
    CvqAt2,
    /// <summary>VQ_PAIRS_SET(0) acked OK and applied.</summary>
    AcceptPairsZero,
    /// <summary>VQ_PAIRS_SET(n) with n greater than max_virtqueue_pairs acked OK and applied.</summary>
    AcceptPairsAboveMax,
    /// <summary>Frames are delivered on receive queues above the current virtqueue_pairs.</summary>
    RxOnDisabled,
    /// <summary>Reset keeps the multiqueue state (current pairs, flow table).</summary>
    ResetKeepsPairs,
    /// <summary>receiveq and transmitq indices swapped: even indices transmit, odd ones receive.</summary>
    SwapRxTx,
    /// <summary>After the device has been reset once, VQ_PAIRS_SET is acked OK but not applied.</summary>
    RestoreLosesPairs,
    /// <summary>Unknown control classes and commands are acked OK.</summary>
    AckUnknownCommands,
    /// <summary>Buffers are consumed on a kick before DRIVER_OK.</summary>
    ConsumeBeforeDriverOk,
    /// <summary>MQ is offered without CTRL_VQ.</summary>
    MqWithoutCtrlVq,
    /// <summary>max_virtqueue_pairs reads 0 in config space.</summary>
    MaxPairsZero,
    /// <summary>Every frame lands on receiveq1 whatever transmitq it came from (breaks only a SHOULD).</summary>
    SteerAllToQ1,
    /// <summary>Reset reads back 0 but the device goes on using the rings it had, on later kicks.</summary>
    ResetKeepsRings,
    /// <summary>Receive steering spreads frames over max_virtqueue_pairs instead of the pairs in use.</summary>
    SteerToMaxPairs,
    /// <summary>VQ_PAIRS_SET is acked OK and acted on although MQ was not negotiated.</summary>
    AcceptPairsWithoutMq,
    /// <summary>CTRL_VQ offered, but without MQ the device has only two queues: no controlq at vq 2.</summary>
    CvqMissingWithoutMq,
    /// <summary>The controlq index found at the first negotiation is kept across resets, whatever is negotiated next.</summary>
    CvqRoleSurvivesReset,
    /// <summary>The transmit path takes a chain's whole first descriptor as the header, whatever its length, and the frame from the descriptors after it.</summary>
    TxHeaderOwnDescriptor,
    /// <summary>The receive header's num_buffers is left 0 although MRG_RXBUF is not negotiated (it must be 1).</summary>
    RxNumBuffersZero,
    /// <summary>A refused descriptor chain is left unconsumed and its queue is never served again, without DEVICE_NEEDS_RESET.</summary>
    MalformedChainStopsQueue,
    /// <summary>Transmit buffers are returned used only in whole bursts of 32; a partial burst is never published.</summary>
    TxPartialBurstKept,
    /// <summary>The used length of a receive buffer counts the frame but not the virtio-net header written in front of it.</summary>
    RxLenWithoutHeader,
    /// <summary>Every frame is delivered twice, into two receive buffers.</summary>
    RxDuplicates,
    /// <summary>VQ_PAIRS_SET(n) is acked and applied, but frames sent on transmitqn (the highest pair in use, n above 1) are dropped.</summary>
    DropsTopPair,
    /// <summary>The first frame sent on each transmitq after the device starts is dropped.</summary>
    DropsFirstFrame,
    /// <summary>Ring indices are compared as integers, not modulo 65536: every ring stalls once its avail idx wraps to 0.</summary>
    IdxWrapStall,
    /// <summary>A transmitq above the pairs in use is drained and its frames dropped, but its buffers are never returned used.</summary>
    DisabledTxKept,
    /// <summary>RSS_CONFIG is acked OK and its pairs put in use, but automatic steering goes on deciding.</summary>
    RssConfigNotApplied,
    /// <summary>Any multiqueue command switches RSS off before it is validated: a refused RSS_CONFIG leaves automatic steering.</summary>
    RssRefusalDisables,
    /// <summary>The indirection table is read at 4 × the index: slot i holds entry 4i, the slots past the table read 0.</summary>
    RssTableStride,
    /// <summary>With no hash computed, hash_value and hash_report keep stale contents instead of NONE.</summary>
    HashReportUninitialised,
    /// <summary>A virtqueue reset reads back done, but the device goes on using the ring.</summary>
    QueueResetKeepsServing,
    /// <summary>While RSS steers, VQ_PAIRS_SET is acked OK and ignored: RSS and its pairs stay in force.</summary>
    RssOutlivesPairsSet,
    /// <summary>Packed rings: a list's used descriptor carries the Buffer ID of its first descriptor, not its last.</summary>
    PackedIdFromFirstDescriptor,
    /// <summary>Packed rings: the k-th used descriptor of a batch goes k slots on, not past the slots of the lists before it.</summary>
    PackedUsedSkipsOne,
    /// <summary>Packed rings: the DESC event test drops the wrap bit of the driver's off_wrap, so an event a lap away fires now.</summary>
    PackedEventIgnoresWrap,
    /// <summary>Packed rings: a receive list's descriptors, each big enough for a packet, are taken as separate buffers (NEXT ignored).</summary>
    PackedRxBatchIgnoresNext,
    /// <summary>Packed rings: AVAIL equal to the wrap counter is taken as available, whatever USED says.</summary>
    PackedAvailIgnoresUsed,
    /// <summary>Packed rings: AVAIL and USED differing is taken as available, whichever lap they belong to.</summary>
    PackedAvailIgnoresWrap,
    /// <summary>Packed rings: the slot after the next one is taken when the next one is not available yet.</summary>
    PackedTakesAhead,
    /// <summary>IN_ORDER: the buffers of each kick go back last first, one used entry each.</summary>
    InOrderReordered,
    /// <summary>IN_ORDER: each batch moves used idx by its own size plus the previous batch's.</summary>
    InOrderBatchCountKept,
    /// <summary>IN_ORDER: a batch's used entry carries its first buffer's id, not its last's.</summary>
    InOrderBatchFirstId,
    /// <summary>IN_ORDER: receive buffers a frame did not fill go back inside a batch, taken as full.</summary>
    InOrderSkipsPartialReceive,

    // Back-end faults: vhost-user behaviour the in-process device has no counterpart for.

    /// <summary>GET_QUEUE_NUM answers 128 and rings above the served pairs are accepted but never processed (DPDK 22.11).</summary>
    QueueNumLies,
    /// <summary>A disabled transmit ring is left unprocessed instead of being drained and discarded.</summary>
    DisabledTxStalls,
    /// <summary>GET_VRING_BASE answers but the ring keeps running on later kicks.</summary>
    GetBaseKeepsRunning,
    /// <summary>GET_VRING_BASE answers one less than the next available index, so a resume repeats a buffer.</summary>
    GetBaseOffByOne,
    /// <summary>VHOST_USER_PROTOCOL_F_MQ is not offered, so a front-end cannot ask how many queues there are.</summary>
    NoMqProtocolFeature,
    /// <summary>GET_VRING_BASE resets the ring before reading it, so it always answers 0.</summary>
    GetBaseReturnsZero,
    /// <summary>A ring started again ignores the SET_VRING_BASE value and takes buffers from index 0.</summary>
    ResumeClearsIndices,
    /// <summary>Rings are created enabled, even with VHOST_USER_F_PROTOCOL_FEATURES negotiated.</summary>
    RingsStartEnabled,
    /// <summary>SET_VRING_ENABLE's index is read as a queue pair number, so it switches both rings of another pair.</summary>
    EnableIndexPerPair,
    /// <summary>GET_VRING_BASE stops the ring but never sends its reply.</summary>
    GetBaseNoReply,
    /// <summary>SET_VRING_BASE values not below the ring size are refused, although ring indices run free to 65535.</summary>
    SetBaseRejectsWrapped,
    /// <summary>REPLY_ACK is offered and accepted, but need_reply requests never get their ack.</summary>
    AdvertiseReplyAckButNoAck,
    /// <summary>GET_QUEUE_NUM answers 128, but the rings of pairs above the ones served are refused at SET_VRING_NUM.</summary>
    QueueNumOverstates,
    /// <summary>Packed rings: GET_VRING_BASE answers the avail position and wrap counter alone, the used half 0.</summary>
    PackedGetBaseAvailOnly,
}

public static class DeviceFaults
{
    /// <summary>The names used in device URIs and on the command line: kebab-case of the enum member.</summary>
    public static string Name(this DeviceFault f) => f switch
    {
        DeviceFault.CvqAt2 => "cvq-at-2",
        DeviceFault.AcceptPairsZero => "accept-pairs-0",
        DeviceFault.AcceptPairsAboveMax => "accept-pairs-above-max",
        DeviceFault.RxOnDisabled => "rx-on-disabled",
        DeviceFault.ResetKeepsPairs => "reset-keeps-pairs",
        DeviceFault.SwapRxTx => "swap-rx-tx",
        DeviceFault.RestoreLosesPairs => "restore-loses-pairs",
        DeviceFault.AckUnknownCommands => "ack-unknown-commands",
        DeviceFault.ConsumeBeforeDriverOk => "consume-before-driver-ok",
        DeviceFault.MqWithoutCtrlVq => "mq-without-ctrl-vq",
        DeviceFault.MaxPairsZero => "max-pairs-0",
        DeviceFault.SteerAllToQ1 => "steer-all-to-q1",
        DeviceFault.ResetKeepsRings => "reset-keeps-rings",
        DeviceFault.QueueNumLies => "queue-num-lies",
        DeviceFault.DisabledTxStalls => "disabled-tx-stalls",
        DeviceFault.GetBaseKeepsRunning => "get-base-keeps-running",
        DeviceFault.GetBaseOffByOne => "get-base-off-by-one",
        DeviceFault.NoMqProtocolFeature => "no-mq-protocol-feature",
        DeviceFault.SteerToMaxPairs => "steer-to-max-pairs",
        DeviceFault.AcceptPairsWithoutMq => "accept-pairs-without-mq",
        DeviceFault.CvqMissingWithoutMq => "cvq-missing-without-mq",
        DeviceFault.CvqRoleSurvivesReset => "cvq-role-survives-reset",
        DeviceFault.GetBaseReturnsZero => "get-base-returns-zero",
        DeviceFault.ResumeClearsIndices => "resume-clears-indices",
        DeviceFault.RingsStartEnabled => "rings-start-enabled",
        DeviceFault.EnableIndexPerPair => "enable-index-per-pair",
        DeviceFault.GetBaseNoReply => "get-base-no-reply",
        DeviceFault.SetBaseRejectsWrapped => "set-base-rejects-wrapped",
        DeviceFault.AdvertiseReplyAckButNoAck => "advertise-reply-ack-but-no-ack",
        DeviceFault.QueueNumOverstates => "queue-num-overstates",
        DeviceFault.TxHeaderOwnDescriptor => "tx-header-own-descriptor",
        DeviceFault.RxNumBuffersZero => "rx-num-buffers-zero",
        DeviceFault.MalformedChainStopsQueue => "malformed-chain-stops-queue",
        DeviceFault.TxPartialBurstKept => "tx-partial-burst-kept",
        DeviceFault.RxLenWithoutHeader => "rx-len-without-header",
        DeviceFault.RxDuplicates => "rx-duplicates",
        DeviceFault.DropsTopPair => "drops-top-pair",
        DeviceFault.DropsFirstFrame => "drops-first-frame",
        DeviceFault.IdxWrapStall => "idx-wrap-stall",
        DeviceFault.DisabledTxKept => "disabled-tx-kept",
        DeviceFault.RssConfigNotApplied => "rss-config-not-applied",
        DeviceFault.RssRefusalDisables => "rss-refusal-disables",
        DeviceFault.RssTableStride => "rss-table-stride",
        DeviceFault.HashReportUninitialised => "hash-report-uninitialised",
        DeviceFault.QueueResetKeepsServing => "queue-reset-keeps-serving",
        DeviceFault.RssOutlivesPairsSet => "rss-outlives-pairs-set",
        DeviceFault.PackedIdFromFirstDescriptor => "packed-id-from-first-descriptor",
        DeviceFault.PackedUsedSkipsOne => "packed-used-skips-one",
        DeviceFault.PackedEventIgnoresWrap => "packed-event-ignores-wrap",
        DeviceFault.PackedRxBatchIgnoresNext => "packed-rx-batch-ignores-next",
        DeviceFault.PackedAvailIgnoresUsed => "packed-avail-ignores-used",
        DeviceFault.PackedAvailIgnoresWrap => "packed-avail-ignores-wrap",
        DeviceFault.PackedTakesAhead => "packed-takes-ahead",
        DeviceFault.PackedGetBaseAvailOnly => "packed-get-base-avail-only",
        DeviceFault.InOrderReordered => "in-order-reordered",
        DeviceFault.InOrderBatchCountKept => "in-order-batch-count-kept",
        DeviceFault.InOrderBatchFirstId => "in-order-batch-first-id",
        DeviceFault.InOrderSkipsPartialReceive => "in-order-skips-partial-receive",
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, null),
    };

    public static IReadOnlyList<DeviceFault> All { get; } = Enum.GetValues<DeviceFault>();

    /// <summary>Faults that live in a back-end (the zoo says which); the others belong to the device model, which QEMU keeps in the front-end.</summary>
    public static IReadOnlyList<DeviceFault> InBackend { get; } = [.. BugZoo.Variants.Where(v => v.Backend).Select(v => v.Fault)];

    /// <summary>Faults that only a vhost-user back-end can have (the zoo says which); the in-process device refuses them.</summary>
    public static IReadOnlySet<DeviceFault> BackendOnly { get; } =
        BugZoo.Variants.Where(v => !v.InProcessDevice).Select(v => v.Fault).ToHashSet();

    public static DeviceFault Parse(string name) =>
        All.FirstOrDefault(f => f.Name() == name.Trim(), (DeviceFault)(-1)) is var f && f >= 0
            ? f
            : throw new FormatException($"unknown fault '{name}'; known faults: {string.Join(", ", All.Select(x => x.Name()))}");

    /// <summary>The deviation that gives a device this fault.</summary>
    public static Deviation Deviation(this DeviceFault f) => ZooDeviations.Of(f);

    /// <summary>The same options with <paramref name="faults"/> plugged into the device, in order.</summary>
    public static ReferenceOptions WithFaults(this ReferenceOptions options, IEnumerable<DeviceFault> faults) =>
        options with { Deviations = [.. options.DeviationList, .. faults.Select(Deviation)] };
}
