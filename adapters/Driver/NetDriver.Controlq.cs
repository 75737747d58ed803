using System.Buffers.Binary;
using VirtioMq.Adapters.Devices;
using VirtioMq.Spec;

namespace VirtioMq.Adapters.Driver;

public sealed partial class NetDriver
{
    private const byte AckSentinel = 0xFF;

    /// <summary>VQ_PAIRS_SET(n) on the controlq; returns the device's ack (§5.1.9.5.6).</summary>
    public NetAck VqPairsSet(int n, CommandFraming framing = CommandFraming.OneReadable)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(data, (ushort)n);
        return SendCommand(NetControl.ClassMq, NetControl.MqVqPairsSet, data, framing, $"VQ_PAIRS_SET({n})");
    }

    /// <summary>Sends one control command and waits for its ack. Throws when none comes or the ack is not OK/ERR.</summary>
    public NetAck SendCommand(byte cls, byte command, byte[] data, CommandFraming framing = CommandFraming.OneReadable, string? what = null)
    {
        var cvq = Layout.ControlqIndex ?? throw new InvalidOperationException("CTRL_VQ is not negotiated: there is no controlq");
        var ack = TrySendCommandOn(cvq, cls, command, data, framing, ResponseWait)
            ?? throw new DeviceTimeoutException($"the ack of {what ?? $"class {cls} command {command}"} on the controlq (vq {cvq})", ResponseWait);
        return ack is (byte)NetAck.Ok or (byte)NetAck.Err
            ? (NetAck)ack
            : throw new DeviceProtocolException($"the device answered {what ?? $"class {cls} command {command}"} with ack {ack}, which is neither VIRTIO_NET_OK (0) nor VIRTIO_NET_ERR (1)");
    }

    /// <summary>
    /// Places a command on any set-up virtqueue and waits up to <paramref name="wait"/> for it to be used.
    /// Returns the ack byte the device wrote, the sentinel 0xFF if it used the buffer without writing one,
    /// or null if it never used it. Probes use this on queues that must not act as the controlq.
    /// </summary>
    public byte? TrySendCommandOn(int vq, byte cls, byte command, byte[] data, CommandFraming framing, TimeSpan wait) =>
        TrySendRawOn(vq, Frame(cls, command, data, framing), ackBytes: framing == CommandFraming.RoomyAck ? RoomyAckBytes : 1,
            framing == CommandFraming.Indirect, wait);

    private const int RoomyAckBytes = 8;

    /// <summary>
    /// Places arbitrary device-readable segments and <paramref name="ackBytes"/> writable bytes on a virtqueue:
    /// robustness probes use it for malformed commands. Same result as <see cref="TrySendCommandOn"/>.
    /// </summary>
    public byte? TrySendRawOn(int vq, IReadOnlyList<byte[]> readable, int ackBytes, bool indirect, TimeSpan wait)
    {
        var q = Queue(vq);
        var head = q.Add(readable, ackBytes > 0 ? [ackBytes] : [], tag: "command", indirect: indirect)
            ?? throw new DeviceProtocolException($"virtqueue {vq} has no free descriptors for a command");
        // The ack byte starts as a sentinel so "used but never written" can be told from an answer.
        if (ackBytes > 0) Device.Memory.Span(AckSlotOf(q, head), 1)[0] = AckSentinel;
        PublishAndKick(q);
        UsedBuffer? used = null;
        TryWaitUntil(() => (used ??= TakeUsedTagged(q, "command")) is not null, wait);
        if (used is null) return null;
        return used.Written.Length >= 1 ? used.Written[0] : AckSentinel;
    }

    private static ulong AckSlotOf(DriverVirtqueue q, ushort head) => q.WritableAddressOf(head, 0);

    private UsedBuffer? TakeUsedTagged(DriverVirtqueue q, string tag)
    {
        // Buffers of other kinds on the same queue (receive buffers, if a probe used a receiveq) are set aside.
        while (q.TakeUsed() is { } u)
        {
            if (Equals(u.Tag, tag)) return u;
            OnForeignUsed(q.Index, u);
        }
        return null;
    }

    private static List<byte[]> Frame(byte cls, byte command, byte[] data, CommandFraming framing) => framing switch
    {
        CommandFraming.OneReadable or CommandFraming.Indirect or CommandFraming.RoomyAck => [[cls, command, .. data]],
        CommandFraming.HeaderDataAck => data.Length == 0 ? [[cls, command]] : [[cls, command], data],
        CommandFraming.Scattered => [[cls], [command], .. data.Select(b => new[] { b })],
        _ => throw new ArgumentOutOfRangeException(nameof(framing)),
    };
}
