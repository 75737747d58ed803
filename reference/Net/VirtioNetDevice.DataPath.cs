using VirtioMq.Reference.Memory;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>The loopback data path: a frame sent on transmitq k comes back on the receiveq steering picks.</summary>
public sealed partial class VirtioNetDevice
{
    /// <summary>Largest frame the device takes from a transmitq: a 64 KiB GSO frame plus the header.</summary>
    private const int MaxTxBytes = 65550 + SplitRing.NetHeaderSize;

    public long FramesDiscardedOnDisabledPairs { get; private set; }
    public long FramesDroppedNoReceiveBuffer { get; private set; }

    private QueueIdentity RoleOf(int vq)
    {
        var layout = Layout;
        var id = layout.Identify(vq);
        if (_options.Has(DeviceFault.CvqAt2) && layout.ControlqIndex.HasValue && layout.DataPairs > 1)
        {
            if (vq == 2) return new QueueIdentity(QueueRole.Control, 0);
            if (vq == layout.ControlqIndex) return new QueueIdentity(QueueRole.None, 0);
        }
        if (_options.Has(DeviceFault.SwapRxTx) && id.Role is QueueRole.Receive or QueueRole.Transmit)
            return id with { Role = id.Role == QueueRole.Receive ? QueueRole.Transmit : QueueRole.Receive };
        return id;
    }

    private int ReceiveIndex(int pair) =>
        _options.Has(DeviceFault.SwapRxTx) ? NetQueueLayout.Transmitq(pair) : NetQueueLayout.Receiveq(pair);

    private void Process(int vq)
    {
        if (!_queues.TryGetValue(vq, out var q)) return;
        var role = RoleOf(vq);
        switch (role.Role)
        {
            case QueueRole.Control:
                DrainControlq(q);
                break;
            case QueueRole.Transmit:
                DrainTransmitq(q, role.Pair);
                break;
            case QueueRole.Receive:
                break; // new receive buffers wait for frames
            default:
                Note($"kick on virtqueue {vq}, which the negotiated layout does not define");
                break;
        }
        RaiseIfDue(q);
    }

    private void DrainTransmitq(DeviceVirtqueue q, int pair)
    {
        while (TryPop(q) is { } chain)
        {
            byte[] bytes;
            try
            {
                bytes = chain.ReadAll(_memory, MaxTxBytes);
            }
            catch (GuestMemoryFault e)
            {
                Note($"transmitq{pair}: {e.Message}");
                q.PushUsed(chain.Head, 0);
                continue;
            }
            // A transmit buffer is only read, so the used length is 0 (§2.7.8.2 counts written bytes).
            q.PushUsed(chain.Head, 0);
            if (bytes.Length < SplitRing.NetHeaderSize)
            {
                Note($"transmitq{pair}: {bytes.Length}-byte buffer is shorter than the virtio-net header");
                continue;
            }
            TransmitFrame(pair, bytes[SplitRing.NetHeaderSize..]);
        }
    }

    private void TransmitFrame(int pair, byte[] frame)
    {
        if (pair > CurrentPairs && !_options.Has(DeviceFault.RxOnDisabled))
        {
            // Like a vhost-user ring that is started but disabled: processed, then discarded.
            FramesDiscardedOnDisabledPairs++;
            return;
        }
        var flow = FlowKey.Of(frame);
        _steering.Transmitted(flow, pair);
        var rxPair = _options.Has(DeviceFault.SteerAllToQ1) ? 1
            : _options.Has(DeviceFault.RxOnDisabled) ? pair
            : _steering.Select(flow, CurrentPairs);
        Deliver(rxPair, frame);
    }

    private void Deliver(int pair, byte[] frame)
    {
        if (!_queues.TryGetValue(ReceiveIndex(pair), out var q) || TryPop(q) is not { } chain)
        {
            FramesDroppedNoReceiveBuffer++;
            return;
        }
        var packet = new byte[SplitRing.NetHeaderSize + frame.Length];
        // flags 0, gso NONE, num_buffers 1: no offloads and no mergeable buffers are negotiated (§5.1.9.4.1).
        packet[10] = 1;
        frame.CopyTo(packet, SplitRing.NetHeaderSize);
        if (chain.WritableLength < packet.Length)
        {
            Note($"receiveq{pair}: {chain.WritableLength}-byte buffer cannot hold a {packet.Length}-byte packet; dropped");
            q.PushUsed(chain.Head, 0);
            FramesDroppedNoReceiveBuffer++;
        }
        else
        {
            var written = chain.Write(_memory, packet);
            q.PushUsed(chain.Head, (uint)written);
        }
        RaiseIfDue(q);
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
