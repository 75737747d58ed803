using System.Buffers.Binary;
using VirtioMq.Spec.Memory;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>The controlq: parses <c>virtio_net_ctrl</c> from each chain and writes the ack (§5.1.9.5).</summary>
public sealed partial class VirtioNetDevice
{
    private const int MaxControlBytes = 4096;
    private int _starts;

    private void DrainControlq(DeviceVirtqueue q)
    {
        while (TryPop(q) is { } chain)
        {
            try
            {
                if (chain.WritableLength < 1)
                {
                    Note("controlq: command has no device-writable byte for the ack; dropped");
                    q.PushUsed(chain.Head, 0);
                    continue;
                }
                var command = ControlCommand.Parse(chain.ReadAll(_memory, MaxControlBytes));
                var ack = command is { } c ? Execute(c) : NetAck.Err;
                // Stryker disable once all : the device's log of refused input is diagnostics; no driver can read it
                if (command is null) Note("controlq: command shorter than class + command; answered ERR");
                var written = chain.Write(_memory, [(byte)ack]);
                q.PushUsed(chain.Head, (uint)written);
            }
            // Stryker disable all : out of reach: Walk checked every segment against guest memory before the chain got here
            catch (GuestMemoryFault e)
            {
                Note($"controlq: {e.Message}");
                q.PushUsed(chain.Head, 0);
            }
            // Stryker restore all
        }
    }

    private NetAck Execute(ControlCommand c)
    {
        if (c is { Class: NetControl.ClassMq, Command: NetControl.MqVqPairsSet }) return VqPairsSet(c.Data);
        // Stryker disable once all : fault switch, a deliberate bug (tests/FaultDetection proves the suite catches it)
        if (_options.Has(DeviceFault.AckUnknownCommands)) return NetAck.Ok;
        Note($"controlq: unsupported {c}; answered ERR");
        return NetAck.Err;
    }

    private NetAck VqPairsSet(byte[] data)
    {
        var withoutMq = !Negotiated.Has(FeatureBit.NetMq) && !_options.Has(DeviceFault.AcceptPairsWithoutMq);
        if (withoutMq || data.Length < 2)
        {
            Note(data.Length < 2 ? "VQ_PAIRS_SET without its 2-byte virtqueue_pairs; answered ERR" : "VQ_PAIRS_SET but MQ was not negotiated; answered ERR");
            return NetAck.Err;
        }
        int n = BinaryPrimitives.ReadUInt16LittleEndian(data);
        var inRange = n is >= NetControl.VqPairsMin && n <= _options.MaxPairs;
        // Stryker disable once all : fault switch, a deliberate bug (tests/FaultDetection proves the suite catches it)
        var buggyAccept = (n == 0 && _options.Has(DeviceFault.AcceptPairsZero)) || (n > _options.MaxPairs && _options.Has(DeviceFault.AcceptPairsAboveMax));
        if (!inRange && !buggyAccept)
        {
            // The spec only forbids the driver to send this (§5.1.9.5.6.1); rejecting it keeps the state sane.
            Note($"VQ_PAIRS_SET({n}) outside 1..{_options.MaxPairs}; answered ERR, pairs stay {CurrentPairs}");
            return NetAck.Err;
        }
        // Stryker disable once all : fault switch, a deliberate bug (tests/FaultDetection proves the suite catches it)
        if (_options.Has(DeviceFault.RestoreLosesPairs) && _starts > 1) return NetAck.Ok;
        // Applied before the buffer is used, so no frame lands above n once the driver sees the ack (§5.1.9.5.6.2).
        CurrentPairs = n;
        ApplyPairs();
        return NetAck.Ok;
    }

    private DescriptorChain? TryPop(DeviceVirtqueue q)
    {
        while (true)
        {
            try
            {
                return q.Pop();
            }
            catch (ChainError e)
            {
                Note(e.Message);
                if (q.Broken)
                {
                    Status |= DeviceStatus.DeviceNeedsReset;
                    return null;
                }
            }
        }
    }
}
