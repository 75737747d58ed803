using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Reference.Net;

/// <summary>The controlq: parses <c>virtio_net_ctrl</c> from each chain and writes the ack (§5.1.9.5).</summary>
public sealed partial class VirtioNetDevice
{
    private const int MaxControlBytes = 4096;

    private void DrainControlq(IDeviceVirtqueue q)
    {
        while (TryPop(q) is { } chain)
        {
            try
            {
                if (chain.WritableLength < 1)
                {
                    Note("controlq: command has no device-writable byte for the ack; dropped");
                    q.PushUsed(chain.Handle, 0);
                    continue;
                }
                var command = ControlCommand.Parse(chain.ReadAll(_memory, MaxControlBytes));
                var ack = command is { } c ? _seams.Controlq.Execute(c, this) : NetAck.Err;
                // Stryker disable once all : the device's log of refused input is diagnostics; no driver can read it
                if (command is null) Note("controlq: command shorter than class + command; answered ERR");
                var written = chain.Write(_memory, [(byte)ack]);
                q.PushUsed(chain.Handle, (uint)written);
            }
            // Stryker disable all : out of reach: Walk checked every segment against guest memory before the chain got here
            catch (GuestMemoryFault e)
            {
                Note($"controlq: {e.Message}");
                q.PushUsed(chain.Handle, 0);
            }
            // Stryker restore all
        }
    }

    /// <summary>Puts pairs 1..<paramref name="pairs"/> in use: the answer to an accepted VQ_PAIRS_SET.</summary>
    void IControlTarget.SetPairs(int pairs)
    {
        CurrentPairs = pairs;
        ApplyPairs();
    }

    private DescriptorChain? TryPop(IDeviceVirtqueue q)
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
