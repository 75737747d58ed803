using System.Buffers.Binary;
using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>The device as a control command sees it.</summary>
public interface IControlTarget
{
    FeatureSet Negotiated { get; }
    int MaxPairs { get; }
    int CurrentPairs { get; }

    /// <summary>Puts <paramref name="pairs"/> queue pairs in use, before the command's buffer is returned.</summary>
    void SetPairs(int pairs);

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
/// The control commands of §5.1.9.5 this device supports: VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (§5.1.9.5.6), nothing else.
/// </summary>
public sealed class ControlCommands : IControlCommands
{
    public static ControlCommands Instance { get; } = new();

    public NetAck Execute(ControlCommand command, IControlTarget device)
    {
        var c = command;
        if (c is { Class: NetControl.ClassMq, Command: NetControl.MqVqPairsSet }) return VqPairsSet(c.Data, device);
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
        return NetAck.Ok;
    }
}
