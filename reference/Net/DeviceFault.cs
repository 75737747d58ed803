namespace VirtioMq.Reference.Net;

/// <summary>
/// Named bugs the reference device can be switched into, each one a multiqueue bug seen in real devices.
/// They exist to prove that the conformance suite catches them (tests/ runs the suite against each one).
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
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, null),
    };

    public static IReadOnlyList<DeviceFault> All { get; } = Enum.GetValues<DeviceFault>();

    /// <summary>Faults that only a vhost-user back-end can have; the in-process device ignores them.</summary>
    public static IReadOnlySet<DeviceFault> BackendOnly { get; } = new HashSet<DeviceFault>
    {
        DeviceFault.QueueNumLies, DeviceFault.DisabledTxStalls, DeviceFault.GetBaseKeepsRunning, DeviceFault.GetBaseOffByOne,
        DeviceFault.NoMqProtocolFeature,
    };

    public static DeviceFault Parse(string name) =>
        All.FirstOrDefault(f => f.Name() == name.Trim(), (DeviceFault)(-1)) is var f && f >= 0
            ? f
            : throw new FormatException($"unknown fault '{name}'; known faults: {string.Join(", ", All.Select(x => x.Name()))}");
}
