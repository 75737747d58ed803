using VirtioMq.Spec;

namespace VirtioMq.Reference.Zoo;

/// <summary>Where a fault comes from: the real bug it reproduces, or why it is synthetic.</summary>
public sealed record FaultSource(string Project, string Reference, string What)
{
    public bool IsSynthetic => Project == "synthetic";
    public override string ToString() => IsSynthetic ? "synthetic" : $"{Project} {Reference}";
}

/// <summary>
/// One variant of the bug zoo: a fault, the real bug behind it, and the rule the conformance suite must
/// name when it catches it, in each plane the bug can exist in. A null rule means the bug has no form there,
/// and <see cref="Absence"/> says why.
/// </summary>
/// <param name="DeviceRule">Caught by this rule on the in-process reference device (<c>reference://?fault=NAME</c>).</param>
/// <param name="BackendRule">Caught by this rule on the vhost-user back-end (<c>serve --fault NAME</c>) through the suite's front-end.</param>
/// <param name="Breaks">
/// The virtqueue formats the bug breaks, where its proof runs; null for split rings alone. A rule named in split terms is
/// caught under its packed counterpart on packed rings (<see cref="FormatCounterparts"/>).
/// </param>
public sealed record ZooVariant(DeviceFault Fault, FaultSource Source, string? DeviceRule, string? BackendRule, string? Absence = null,
    IReadOnlyList<RingFormat>? Breaks = null)
{
    public bool InProcessDevice => DeviceRule is not null;
    public bool Backend => BackendRule is not null;
    public string Name => Fault.Name();

    /// <summary>The formats the bug breaks: <see cref="Breaks"/>, split rings when it names none.</summary>
    public IReadOnlyList<RingFormat> Formats => Breaks ?? [RingFormat.Split];
}

/// <summary>
/// The bug zoo, in one place: every fault, the bug it reproduces (project and commit or issue), the rule it
/// breaks and the planes it lives in. docs/bug-zoo-research.md has the longer notes and the candidates not yet
/// built. reference/Zoo/Variants holds each one's code. tests/FaultDetection runs the suite against each variant; tests/bench/ZooBench prints the table.
/// </summary>
public static class BugZoo
{
    // Over vhost-user the front-end (QEMU, or this suite) owns status, features, config space and the controlq:
    // a back-end never sees them, so bugs there cannot be reproduced by one.
    private const string FrontEndOwned = "the controlq, status, features and config space belong to the vhost-user front-end, not the back-end";
    private const string NoRss = "RSS and hash reporting live in the front-end's controlq; the vhost-user protocol carries no RSS configuration to a back-end";
    private const string ProtocolOnly = "a vhost-user protocol bug: the in-process device has no messages (it runs in the test process over a real socket instead)";
    private const string QemuRingCode = "a bug of QEMU's own ring code (hw/virtio/virtio.c), which serves its device model; with vhost-user the back-end's ring code runs instead";
    private static readonly RingFormat[] PackedOnly = [RingFormat.Packed];
    private static readonly RingFormat[] BothFormats = [RingFormat.Split, RingFormat.Packed];

    public static IReadOnlyList<ZooVariant> Variants { get; } =
    [
        new(DeviceFault.CvqAt2, new("oxide propolis", "issue #1127, fix d59ac2dcf1a2",
                "controlq taken as the queue after the current pairs, not vq 2N (the 1.0 text's numbering slip is the same class)"),
            Rule.NetVqDefLayout, null, FrontEndOwned),
        new(DeviceFault.AcceptPairsZero, new("Linux vdpa/mlx5", "ed0f849fc3a6", "VQ_PAIRS_SET acted on with no range check, 0 included"),
            Rule.RobustMqPairsSetZeroRejected, null, FrontEndOwned),
        new(DeviceFault.AcceptPairsAboveMax, new("cloud-hypervisor", "0e085592bb18; Linux vdpa/mlx5 ed0f849fc3a6", "VQ_PAIRS_SET above max_virtqueue_pairs accepted"),
            Rule.RobustMqPairsSetAboveMaxRejected, null, FrontEndOwned),
        new(DeviceFault.RxOnDisabled, new("Open vSwitch", "585a5beaa2a4", "packets sent into vhost queues the guest had not enabled"),
            Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevRxLimitAfterUsed),
        new(DeviceFault.ResetKeepsPairs, new("oxide propolis", "45af0f79e643, 957f5c45f900; Linux vdpa/mlx5 b03fc43e7387", "reset did not bring the pair count back to 1"),
            Rule.NetMqDevRxQ1AfterReset, Rule.NetMqDevRxQ1AfterReset),
        new(DeviceFault.SwapRxTx, new("oxide propolis", "bc121ef55741 (issue #1055)", "receive and transmit queue properties attached to the wrong member of the pair"),
            Rule.NetVqDefLayout, Rule.NetVqDefLayout),
        new(DeviceFault.RestoreLosesPairs, new("QEMU virtio-net", "9379ea9db3c0", "after restore, queues above pair 1 were never serviced"),
            Rule.NetMqDefVqPairsSet, null, FrontEndOwned),
        new(DeviceFault.AckUnknownCommands, new("cloud-hypervisor", "c60168256a1b", "control classes it does not support acked OK (on purpose, for Windows NetKVM)"),
            Rule.RobustCtrlUnknownCommandRejected, null, FrontEndOwned),
        new(DeviceFault.ConsumeBeforeDriverOk, new("Linux virtio_net", "51b813176f09", "VQ_PAIRS_SET reached devices before DRIVER_OK; this switch is the device that acts on it"),
            Rule.CoreStatusDevNoUseBeforeDriverOk, null, FrontEndOwned),
        new(DeviceFault.MqWithoutCtrlVq, new("Linux vdpa/mlx5", "30c22f3816ff", "FEATURES_OK accepted with MQ but without CTRL_VQ"),
            Rule.CoreFeatDevNoUnsatisfiedDependency, null, FrontEndOwned),
        new(DeviceFault.MaxPairsZero, new("synthetic", "-", "no real device found; kept to prove the range check of max_virtqueue_pairs and GET_QUEUE_NUM"),
            Rule.NetCfgDevMaxPairsRange, Rule.VuMqGetQueueNumReply),
        new(DeviceFault.SteerAllToQ1, new("synthetic", "-", "the degenerate steering a device without flow tracking falls back to; breaks only a SHOULD"),
            Rule.NetMqDevFollowTx, Rule.NetMqDevFollowTx),
        new(DeviceFault.ResetKeepsRings, new("cloud-hypervisor", "5f987104717e; DPDK 1846fe767f00", "rings kept running (or counted ready) across a virtio reset"),
            Rule.CoreResetDevQuiesce, null, FrontEndOwned),
        new(DeviceFault.SteerToMaxPairs, new("Linux vdpa/mlx5", "b03fc43e7387",
                "the receive steering table was sized from max_virtqueue_pairs, so frames landed on pairs the driver never enabled"),
            Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevRxLimitAfterUsed),
        new(DeviceFault.AcceptPairsWithoutMq, new("Linux vdpa/mlx5", "ed0f849fc3a6", "VQ_PAIRS_SET acted on even when MQ had not been negotiated"),
            Rule.RobustMqPairsSetWithoutMqRejected, null, FrontEndOwned),
        new(DeviceFault.CvqMissingWithoutMq, new("crosvm", "b164d24f8229", "CTRL_VQ offered, but without MQ the device had two queues and no controlq"),
            Rule.NetVqDefLayout, null, FrontEndOwned),
        new(DeviceFault.CvqRoleSurvivesReset, new("oxide propolis", "d59ac2dcf1a2 (PR #1125)", "a queue kept its controlq role after the driver re-initialised the device with other features"),
            Rule.NetVqDefLayout, null, FrontEndOwned),

        new(DeviceFault.TxHeaderOwnDescriptor, new("FreeBSD bhyve pci_virtio_net", "tx path as described in Solo5/solo5 PR #98 (2016); sysprog21/kvm-host PR #51",
                "the transmit path took the first descriptor as the header alone, whatever its length, so a packet in one descriptor sent an empty frame"),
            Rule.RingFramingDevNoLayoutAssumption, Rule.RingFramingDevNoLayoutAssumption),
        new(DeviceFault.RxNumBuffersZero, new("DPDK", "v22.11 lib/vhost/virtio_net.c (mbuf_to_desc); testpmd seen by this suite (conformance/Expected)",
                "num_buffers written into the receive header only with mergeable buffers, so it stays 0 without MRG_RXBUF"),
            Rule.NetRxDevNumBuffers1, Rule.NetRxDevNumBuffers1),
        new(DeviceFault.MalformedChainStopsQueue, new("microsoft/openvmm", "issue #4045, PR #4036; cloud-hypervisor PR #8401; sysprog21/kvm-host PR #51",
                "a refused chain was left unconsumed: openvmm re-read it forever, then retired the queue; cloud-hypervisor's block device and kvm-host's fix left the queue stalled; none asked for a reset"),
            Rule.RobustRingMalformedChainRefused, Rule.RobustRingMalformedChainRefused),
        new(DeviceFault.TxPartialBurstKept, new("synthetic", "-",
                "a transmit path that batches used entries and never flushes a partial batch; found as surviving mutants of the reference (mutation/), with the symptom of syswonder/hvisor-tool issue #101 (a UDP sender blocked on a transmitq whose buffers never come back). " +
                "On packed rings it is DPDK's 8b13d12a16 (\"vhost: fix shadow update\", 20.05): guest transmit used descriptors were written back only when a batch filled"),
            Rule.RingUsedDefReturnsBuffers, Rule.RingUsedDefReturnsBuffers, Breaks: [RingFormat.Split, RingFormat.Packed]),
        new(DeviceFault.RxLenWithoutHeader, new("synthetic", "-",
                "a receive path that reports the frame length it copied as the used length and forgets the header it wrote first; the class the suite once read as lost frames"),
            Rule.RingUsedDevWriteLenBytes, Rule.RingUsedDevWriteLenBytes),
        new(DeviceFault.RxDuplicates, new("synthetic", "-", "a receive path that retries a delivery it already completed, so each frame lands twice"),
            Rule.NetTxDefSentOnce, Rule.NetTxDefSentOnce),
        new(DeviceFault.DropsTopPair, new("synthetic", "-",
                "VQ_PAIRS_SET acked and applied to steering, but the highest transmitq in use never forwarded: the class that passed dotnet test on warnings alone"),
            Rule.NetMqDefVqPairsSet, Rule.NetMqDefVqPairsSet),
        new(DeviceFault.DropsFirstFrame, new("synthetic", "-",
                "each transmitq loses the first frame after the device starts (a ring armed late): the device that once kept a run going past 15 minutes"),
            Rule.NetTxDefSent, Rule.NetTxDefSent),
        new(DeviceFault.IdxWrapStall, new("arcboxlabs/arcbox", "issue #229",
                "the receive poll compared avail and used idx widened to usize with >=, so after 65,535 frames the wrapped avail idx read as 'nothing available' and receive stalled for good; the transmit side kept its last avail idx in a usize and mismatched after 65,536 frames"),
            Rule.RingAvailDevIdxWrap, Rule.RingAvailDevIdxWrap),
        new(DeviceFault.DisabledTxKept, new("synthetic", "-",
                "a transmit path that drops the frames of a ring above the pairs in use and forgets to return their buffers; what a Linux guest meets when it " +
                "transmits on a queue above the pairs after ethtool -L to fewer (seen in the guest runs) or before its VQ_PAIRS_SET after a restore (its code allows it): " +
                "the transmit queue stalls for want of descriptors"),
            Rule.RingUsedDefReturnsBuffers, Rule.VuRingDisabledTxDiscard),
        new(DeviceFault.RssConfigNotApplied, new("QEMU virtio-net", "virtio_net_commit_rss_config; \"virtio-net: Return an error when vhost cannot enable RSS\" (A. Odaki, 2023-10-08)",
                "with vhost and no eBPF program, RSS was offered and RSS_CONFIG acked OK, but packets went on being steered by the back-end as before"),
            Rule.NetRssDevQueueSelection, null, NoRss),
        new(DeviceFault.RssRefusalDisables, new("QEMU virtio-net", "7.2.22 and 10.0.2 virtio_net_handle_mq (read by this suite, docs/qemu.md)",
                "every multiqueue command disables RSS before it is validated, so a refused RSS_CONFIG leaves automatic steering in force"),
            Rule.RobustRssRefusalKeepsConfig, null, NoRss),
        new(DeviceFault.RssTableStride, new("QEMU ebpf RSS", "ba6bb2ec953f (\"ebpf: Fix indirections table setting\"), fixing 333b3e5fab75",
                "the 16-bit table entries were copied packed into 8-byte map slots, so slot i held entry 4i and most hashes steered to the wrong queue"),
            Rule.NetRssDevQueueSelection, null, NoRss),
        new(DeviceFault.HashReportUninitialised, new("QEMU virtio-net", "\"virtio-net: Initialize hash reporting values\" (9.2, fixing e22f0603fb2f); 7.2.22 seen by this suite",
                "with HASH_REPORT negotiated and nothing hashed, hash_value and hash_report carried whatever the buffer held instead of NONE"),
            Rule.NetHashDefInitiallyDisabled, null, NoRss),
        new(DeviceFault.QueueResetKeepsServing, new("QEMU virtio-net", "issue #1451 (\"virtio_net: just purge tx when dev/queue reset\", X. Zhuo, 2023), fixing 7dc6be52",
                "a queue being reset went on being used: the transmit completion pulled new buffers from the ring the driver was resetting"),
            Rule.CoreVqresetDevStop, null, "the vhost-user protocol has no per-ring reset: a front-end stops the ring with GET_VRING_BASE (vu.ring.stop-on-get-base)"),
        new(DeviceFault.RssOutlivesPairsSet, new("synthetic", "-",
                "a device that treats RSS as the master configuration: while a table is in force VQ_PAIRS_SET is acked and ignored, " +
                "against §5.1.9.5.5's last-command rule (QEMU's virtio_net_handle_mq disables RSS at every multiqueue command for this)"),
            Rule.NetMqDefLastCommandWins, null, NoRss),

        // Packed-ring faults (§2.8): proven on packed rings, where they live.
        new(DeviceFault.PackedIdFromFirstDescriptor, new("QEMU virtio", "virtqueue_packed_pop (hw/virtio/virtio.c) in 7.2, seen by the suite on Debian's 7.2 with packed=on; 10.0 reads the last descriptor",
                "the Buffer ID of a packed list is read from its first descriptor, where the spec puts it in the last; unseen with Linux, which writes the ID in every descriptor"),
            Rule.RingPackedDefNextFlag, null, QemuRingCode, PackedOnly),
        new(DeviceFault.PackedUsedSkipsOne, new("QEMU virtio", "2d9a31b3c273 (9.0; stable 8.2.3, 7.2.11)",
                "virtqueue_packed_fill_desc put the k-th used descriptor of a batched flush at used_idx + k, not past the lists before it: with mergeable receive buffers of 2-descriptor lists used descriptors landed inside a list and the driver hung"),
            Rule.RingPackedDevChainOneUsed, null, QemuRingCode, PackedOnly),
        new(DeviceFault.PackedEventIgnoresWrap, new("QEMU virtio", "\"virtio: signal after wrapping packed used_idx\" (S. Hajnoczi, 7.0); Linux a7722890fdfb",
                "the DESC event test lost the lap: QEMU compared used positions modulo the ring size and stopped notifying after used_idx wrapped; Linux wrote off_wrap with a stale wrap bit. " +
                "Here the device drops off_wrap's wrap bit, so an event a lap away fires at once"),
            Rule.RobustRingPackedQuietWhenSuppressed, null, QemuRingCode, PackedOnly),
        new(DeviceFault.PackedRxBatchIgnoresNext, new("DPDK vhost", "v22.11 to at least 38f72e500b (2026-06), virtio_dev_rx_sync_batch_check; testpmd seen by this suite (conformance/Expected)",
                "the packed receive batch path takes four available descriptors as four buffers without checking NEXT, so a receive list whose first descriptor holds a packet is split"),
            Rule.RingPackedDefNextFlag, Rule.RingPackedDefNextFlag, Breaks: PackedOnly),
        new(DeviceFault.PackedAvailIgnoresUsed, new("synthetic", "-", "availability read from the AVAIL bit alone: a descriptor showing used flags in this lap is taken up"),
            Rule.RingPackedDefAvailUsedBits, Rule.RingPackedDefAvailUsedBits, Breaks: PackedOnly),
        new(DeviceFault.PackedAvailIgnoresWrap, new("synthetic", "-", "availability read as AVAIL differing from USED, without the wrap counter: the other lap's available descriptor is taken up again"),
            Rule.RingPackedDevUseAfterAvailChange, Rule.RingPackedDevUseAfterAvailChange, Breaks: PackedOnly),
        new(DeviceFault.PackedTakesAhead, new("synthetic", "-", "a slot not yet available is passed over for the available one after it, so descriptors are not started in ring order"),
            Rule.RingPackedDevProcessInRingOrder, Rule.RingPackedDevProcessInRingOrder, Breaks: PackedOnly),

        // In-order faults (VIRTIO_F_IN_ORDER, §2.7.9, §2.8.8): ring code, so a back-end has them too.
        new(DeviceFault.InOrderReordered, new("DPDK vhost", "715070ea10e6 (\"vhost: prevent zero-copy with incompatible client mode\"); 22d2e788400f",
                "IN_ORDER stayed negotiated while dequeue zero-copy returned transmit buffers in the order the NIC completed them"),
            Rule.RingInorderDev, Rule.RingInorderDev, Breaks: BothFormats),
        new(DeviceFault.InOrderBatchCountKept, new("Linux vhost-net", "\"vhost-net: unbreak busy polling\" (2025), fixing 67a873df0c41",
                "the busy-poll path wrote a batch of used elements without resetting their count, so the next batch moved used idx past buffers it never returned"),
            Rule.RingInorderDefBatch, Rule.RingInorderDefBatch),
        new(DeviceFault.InOrderBatchFirstId, new("synthetic", "-", "an in-order batch's used entry names the batch's first buffer, so the driver takes one buffer back where the device skipped several"),
            Rule.RingInorderDefBatch, Rule.RingInorderDefBatch, Breaks: BothFormats),
        new(DeviceFault.InOrderSkipsPartialReceive, new("synthetic", "-",
                "receive buffers a frame did not fill are returned inside an in-order batch, which tells the driver they are full"),
            Rule.RingInorderDefSkippedUsed, Rule.RingInorderDefSkippedUsed, Breaks: BothFormats),

        // Back-end faults: vhost-user behaviour the in-process device has no counterpart for.
        new(DeviceFault.QueueNumLies, new("DPDK", "v22.11 lib/vhost/socket.c; VPP before 2c1084a69bcc", "GET_QUEUE_NUM answers a constant, not the pairs served"),
            null, Rule.VuMqGetQueueNumReply, ProtocolOnly),
        new(DeviceFault.DisabledTxStalls, new("DPDK 22.11 testpmd", "seen by this suite (conformance/Expected)", "a disabled transmit ring is not drained"),
            null, Rule.VuRingDisabledTxDiscard, "the started-but-disabled ring state exists only in vhost-user"),
        new(DeviceFault.GetBaseKeepsRunning, new("cloud-hypervisor", "5f987104717e", "rings not stopped when the front-end stops them"),
            null, Rule.VuRingStopOnGetBase, ProtocolOnly),
        new(DeviceFault.GetBaseOffByOne, new("DPDK", "90bb22a197ab", "GET_VRING_BASE answered the last used index, not the next available one"),
            null, Rule.VuGetBaseReplyLastAvail, ProtocolOnly),
        new(DeviceFault.NoMqProtocolFeature, new("synthetic", "-", "a back-end written before multiqueue support, offering no VHOST_USER_PROTOCOL_F_MQ"),
            null, Rule.VuMqProtocolFeatureAdvertised, ProtocolOnly),
        new(DeviceFault.GetBaseReturnsZero, new("rust-vmm vhost-user-backend", "1d2368e5f693; crosvm fcf9a630e966",
                "the queue was reset before its index was read, so GET_VRING_BASE always answered 0"),
            null, Rule.VuGetBaseReplyLastAvail, ProtocolOnly),
        new(DeviceFault.ResumeClearsIndices, new("Linux vdpa/mlx5", "bc04d93ea30a; oxide propolis 3f6d599e8c6b",
                "after suspend and resume the ring indices restarted at 0 instead of the restored base"),
            null, Rule.VuSetBaseResume, ProtocolOnly),
        new(DeviceFault.RingsStartEnabled, new("DPDK", "321203a54ba7", "rings were created enabled, so traffic moved on rings the front-end had not enabled"),
            null, Rule.VuRingDisabledRxNoPackets, ProtocolOnly),
        new(DeviceFault.EnableIndexPerPair, new("DPDK", "cd81ee7cc28b", "SET_VRING_ENABLE's ring index was taken as a queue pair index, so enables went to the wrong pair"),
            null, Rule.VuRingDisabledRxNoPackets, ProtocolOnly),
        new(DeviceFault.GetBaseNoReply, new("DPDK", "ef6fb7d3fd96", "GET_VRING_BASE stopped producing its reply, so a front-end stopping a ring waited forever"),
            null, Rule.VuGetBaseReplyLastAvail, ProtocolOnly),
        new(DeviceFault.SetBaseRejectsWrapped, new("crosvm", "7067de23bcbd", "SET_VRING_BASE values at or above the queue size were rejected, which broke restore of free-running indices"),
            null, Rule.VuSetBaseResume, ProtocolOnly),
        new(DeviceFault.AdvertiseReplyAckButNoAck, new("crosvm", "ea45ab7bf157", "REPLY_ACK was advertised but dropped from the accepted set, so front-ends waited for acks that never came"),
            null, Rule.VuReplyAckMustReply, ProtocolOnly),
        new(DeviceFault.QueueNumOverstates, new("synthetic", "-",
                "GET_QUEUE_NUM answers more pairs than the back-end sets up, so SET_VRING_NUM for the rings above is refused: the case that once failed a check naming no rule"),
            null, Rule.VuMqGetQueueNumReply, ProtocolOnly),
        new(DeviceFault.PackedGetBaseAvailOnly, new("DPDK", "v22.11 lib/vhost/vhost_user.c (vhost_user_get_vring_base); testpmd seen by this suite (conformance/Expected)",
                "GET_VRING_BASE on a packed ring answered the avail position and wrap counter alone, the used half 0"),
            null, Rule.VuPackedGetBaseReplyBoth, ProtocolOnly, PackedOnly),
    ];

    public static ZooVariant Of(DeviceFault f) =>
        Variants.FirstOrDefault(v => v.Fault == f) ?? throw new ArgumentOutOfRangeException(nameof(f), f, "every fault switch is in the zoo");
}

/// <summary>The citation of each fault switch; <see cref="BugZoo"/> holds them.</summary>
public static class FaultSources
{
    public static FaultSource Of(DeviceFault f) => BugZoo.Of(f).Source;
}
