using System.Buffers.Binary;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Reference.Net;

/// <summary>The device as a control command sees it.</summary>
public interface IControlTarget
{
    FeatureSet Negotiated { get; }
    int MaxPairs { get; }
    int CurrentPairs { get; }

    /// <summary>Puts <paramref name="pairs"/> queue pairs in use, before the command's buffer is returned.</summary>
    void SetPairs(int pairs);

    /// <summary>The hashing state RSS_CONFIG and HASH_CONFIG set.</summary>
    ReceiveScaling Scaling { get; }

    /// <summary>Records why the device refused guest input.</summary>
    void Note(string message);
}

/// <summary>What the device does with each command on its controlq.</summary>
public interface IControlCommands
{
    /// <summary>Carries out <paramref name="command"/> on <paramref name="device"/> and gives the ack to write back.</summary>
    NetAck Execute(ControlCommand command, IControlTarget device);
}

/// <summary>
/// The control commands of §5.1.9.5 this device supports: the multiqueue class, VQ_PAIRS_SET (§5.1.9.5.6), RSS_CONFIG
/// (§5.1.9.5.7) and HASH_CONFIG (§5.1.9.5.6.4). A command a driver must not send is refused and changes nothing.
/// </summary>
public sealed class ControlCommands : IControlCommands
{
    public static ControlCommands Instance { get; } = new();

    public NetAck Execute(ControlCommand command, IControlTarget device)
    {
        var c = command;
        if (c is { Class: NetControl.ClassMq, Command: NetControl.MqVqPairsSet }) return VqPairsSet(c.Data, device);
        if (c is { Class: NetControl.ClassMq, Command: NetControl.MqRssConfig }) return RssConfigCommand(c.Data, device);
        if (c is { Class: NetControl.ClassMq, Command: NetControl.MqHashConfig }) return HashConfigCommand(c.Data, device);
        device.Note($"controlq: unsupported {c}; answered ERR");
        return NetAck.Err;
    }

    private static NetAck VqPairsSet(byte[] data, IControlTarget device)
    {
        // VQ_PAIRS_SET belongs to VIRTIO_NET_F_MQ (§5.1.9.5.6): without it there is only one pair to use.
        if (!device.Negotiated.Has(FeatureBit.NetMq) || data.Length < 2)
        {
            device.Note(data.Length < 2 ? "VQ_PAIRS_SET without its 2-byte virtqueue_pairs; answered ERR" : "VQ_PAIRS_SET but MQ was not negotiated; answered ERR");
            return NetAck.Err;
        }
        int n = BinaryPrimitives.ReadUInt16LittleEndian(data);
        if (n is < NetControl.VqPairsMin || n > device.MaxPairs)
        {
            // The spec only forbids the driver to send this (§5.1.9.5.6.1); rejecting it keeps the state sane.
            device.Note($"VQ_PAIRS_SET({n}) outside 1..{device.MaxPairs}; answered ERR, pairs stay {device.CurrentPairs}");
            return NetAck.Err;
        }
        // Applied before the buffer is used, so no frame lands above n once the driver sees the ack (§5.1.9.5.6.2).
        device.SetPairs(n);
        device.Scaling.UseAutomaticSteering();
        return NetAck.Ok;
    }

    private static RssLimits Limits(IControlTarget device) => ReceiveScaling.DeviceLimits with { MaxPairs = device.MaxPairs };

    private static NetAck RssConfigCommand(byte[] data, IControlTarget device)
    {
        if (!device.Negotiated.Has(FeatureBit.NetRss)) return Refuse(device, "RSS_CONFIG but RSS was not negotiated");
        if (RssConfig.Decode(data, out var malformed) is not { } config) return Refuse(device, $"RSS_CONFIG: {malformed}");
        if (Limits(device).Problems(config) is [var first, ..]) return Refuse(device, $"RSS_CONFIG: {first.Why}");
        if (config.Key.Length == 0) return Refuse(device, "RSS_CONFIG with an empty key");
        // Applied whole before the buffer is used, like VQ_PAIRS_SET: max_tx_vq pairs are in use and RSS steers from the ack on.
        device.SetPairs(config.MaxTxVq);
        device.Scaling.UseRss(config);
        return NetAck.Ok;
    }

    private static NetAck HashConfigCommand(byte[] data, IControlTarget device)
    {
        // With RSS negotiated the hash parameters are RSS_CONFIG's (§5.1.9.4.3); HASH_CONFIG is for hash reporting alone.
        if (!device.Negotiated.Has(FeatureBit.NetHashReport) || device.Negotiated.Has(FeatureBit.NetRss))
            return Refuse(device, "HASH_CONFIG needs HASH_REPORT negotiated without RSS");
        if (HashConfig.Decode(data, out var malformed) is not { } config) return Refuse(device, $"HASH_CONFIG: {malformed}");
        if (Limits(device).Problems(config) is [var first, ..]) return Refuse(device, $"HASH_CONFIG: {first.Why}");
        if (config.Key.Length == 0) return Refuse(device, "HASH_CONFIG with an empty key");
        device.Scaling.UseHash(config);
        return NetAck.Ok;
    }

    private static NetAck Refuse(IControlTarget device, string why)
    {
        device.Note($"{why}; answered ERR, configuration unchanged");
        return NetAck.Err;
    }
}
