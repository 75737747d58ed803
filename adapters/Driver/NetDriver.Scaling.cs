using System.Buffers.Binary;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Adapters.Driver;

/// <summary>Receive-side scaling, hash reporting and per-virtqueue reset: what the multiqueue chapter added in 1.2.</summary>
public sealed partial class NetDriver
{
    /// <summary>VIRTIO_NET_CTRL_MQ_RSS_CONFIG (§5.1.9.5.7.1); returns the device's ack.</summary>
    public NetAck RssConfigure(RssConfig config) =>
        SendCommand(NetControl.ClassMq, NetControl.MqRssConfig, config.Encode(), what: $"RSS_CONFIG({config})");

    /// <summary>VIRTIO_NET_CTRL_MQ_HASH_CONFIG (§5.1.9.5.6.4); returns the device's ack.</summary>
    public NetAck HashConfigure(HashConfig config) =>
        SendCommand(NetControl.ClassMq, NetControl.MqHashConfig, config.Encode(), what: $"HASH_CONFIG({config})");

    /// <summary>
    /// rss_max_key_size, rss_max_indirection_table_length and supported_hash_types as the device's configuration space
    /// gives them (§5.1.4), with max_virtqueue_pairs. Read only when RSS or HASH_REPORT is offered: the fields exist then.
    /// </summary>
    public RssLimits ReadRssLimits()
    {
        Span<byte> b = stackalloc byte[8];
        Device.ReadConfig(NetConfig.RssMaxKeySizeOffset, b[..1]);
        Device.ReadConfig(NetConfig.RssMaxIndirectionTableLengthOffset, b[2..4]);
        Device.ReadConfig(NetConfig.SupportedHashTypesOffset, b[4..8]);
        return new RssLimits(b[0], BinaryPrimitives.ReadUInt16LittleEndian(b[2..]), (NetHashTypes)BinaryPrimitives.ReadUInt32LittleEndian(b[4..]), MaxPairs);
    }

    /// <summary>
    /// Resets virtqueue <paramref name="vq"/> at the transport (§2.6.1) and forgets the driver's side of it: every buffer it
    /// held is gone. Throws when the device cannot reset queues or never says it is done.
    /// </summary>
    public QueueResetOutcome ResetQueue(int vq)
    {
        var reset = Device.Capabilities.Get<IQueueReset>() ?? throw new InvalidOperationException("the device's transport cannot reset a single virtqueue");
        var outcome = reset.ResetQueue(vq, Patience.Current.Cap(_options.Timeout));
        if (!outcome.Completed)
            throw new DeviceTimeoutException($"queue_reset of vq {vq} to read back 0 (the reset done)", _options.Timeout) { Breach = Breach.QueueResetNeverCompletes };
        _queues.Remove(vq);
        _heldKicks.Remove(vq);
        return outcome;
    }

    /// <summary>
    /// Puts <paramref name="frame"/> on a transmitq the driver has reset and forgotten, <paramref name="old"/>, and
    /// notifies it: a probe of a device that goes on serving a queue after its reset (§2.6.1.1.1).
    /// </summary>
    public void TransmitOnReset(DriverVirtqueue old, byte[] frame)
    {
        if (old.Add([[.. new byte[HeaderSize], .. frame]], [], tag: "stale") is null) return;
        old.Publish();
        Device.Kick(old.Index);
    }

    /// <summary>Enables a virtqueue again after its reset (§2.6.1: the driver MAY), with a fresh ring; a receiveq gets buffers.</summary>
    public DriverVirtqueue ReenableQueue(int vq, int? size = null)
    {
        var q = AddQueue(vq, size ?? _options.QueueSize);
        if (Layout.Identify(vq).Role == QueueRole.Receive) Replenish(vq / 2 + 1);
        return q;
    }
}
