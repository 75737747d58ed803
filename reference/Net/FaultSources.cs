namespace VirtioMq.Reference.Net;

/// <summary>Where a fault switch comes from: the real bug it reproduces, or why it is synthetic.</summary>
public sealed record FaultSource(string Project, string Reference, string What);

/// <summary>
/// The real bugs behind the fault switches (docs/bug-zoo-research.md has the longer notes and more
/// candidates). A fault that reproduces no single known bug says so instead of naming one.
/// </summary>
public static class FaultSources
{
    public static FaultSource Of(DeviceFault f) => f switch
    {
        DeviceFault.CvqAt2 => new("oxide propolis", "issue #1127, fix d59ac2dcf1a2",
            "controlq taken as the queue after the current pairs, not vq 2N (the 1.0 text's numbering slip is the same class)"),
        DeviceFault.AcceptPairsZero => new("Linux vdpa/mlx5", "ed0f849fc3a6", "VQ_PAIRS_SET acted on with no range check, 0 included"),
        DeviceFault.AcceptPairsAboveMax => new("cloud-hypervisor", "0e085592bb18; Linux vdpa/mlx5 ed0f849fc3a6", "VQ_PAIRS_SET above max_virtqueue_pairs accepted"),
        DeviceFault.RxOnDisabled => new("Open vSwitch", "585a5beaa2a4", "packets sent into vhost queues the guest had not enabled"),
        DeviceFault.ResetKeepsPairs => new("oxide propolis", "45af0f79e643, 957f5c45f900; Linux vdpa/mlx5 b03fc43e7387", "reset did not bring the pair count back to 1"),
        DeviceFault.SwapRxTx => new("oxide propolis", "bc121ef55741 (issue #1055)", "receive and transmit queue properties attached to the wrong member of the pair"),
        DeviceFault.RestoreLosesPairs => new("QEMU virtio-net", "9379ea9db3c0", "after restore, queues above pair 1 were never serviced"),
        DeviceFault.AckUnknownCommands => new("cloud-hypervisor", "c60168256a1b", "control classes it does not support acked OK (on purpose, for Windows NetKVM)"),
        DeviceFault.ConsumeBeforeDriverOk => new("Linux virtio_net", "51b813176f09", "VQ_PAIRS_SET reached devices before DRIVER_OK; this switch is the device that acts on it"),
        DeviceFault.MqWithoutCtrlVq => new("Linux vdpa/mlx5", "30c22f3816ff", "FEATURES_OK accepted with MQ but without CTRL_VQ"),
        DeviceFault.MaxPairsZero => new("synthetic", "-", "no real device found; kept to prove the range check of max_virtqueue_pairs and GET_QUEUE_NUM"),
        DeviceFault.SteerAllToQ1 => new("synthetic", "-", "the degenerate steering a device without flow tracking falls back to; breaks only a SHOULD"),
        DeviceFault.ResetKeepsRings => new("cloud-hypervisor", "5f987104717e; DPDK 1846fe767f00", "rings kept running (or counted ready) across a virtio reset"),
        DeviceFault.QueueNumLies => new("DPDK", "v22.11 lib/vhost/socket.c; VPP before 2c1084a69bcc", "GET_QUEUE_NUM answers a constant, not the pairs served"),
        DeviceFault.DisabledTxStalls => new("DPDK 22.11 testpmd", "seen by this suite (conformance/Expected)", "a disabled transmit ring is not drained"),
        DeviceFault.GetBaseKeepsRunning => new("cloud-hypervisor", "5f987104717e", "rings not stopped when the front-end stops them"),
        DeviceFault.GetBaseOffByOne => new("DPDK", "90bb22a197ab", "GET_VRING_BASE answered the last used index, not the next available one"),
        DeviceFault.NoMqProtocolFeature => new("synthetic", "-", "a back-end written before multiqueue support, offering no VHOST_USER_PROTOCOL_F_MQ"),
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, "every fault switch names its source"),
    };
}
