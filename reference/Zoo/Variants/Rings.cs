using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Reference.Virtqueues;

namespace VirtioMq.Reference.Zoo;

/// <summary>
/// idx-wrap-stall: ring indices compared as integers, so a ring stalls for good once avail idx wraps to 0. On a packed
/// ring, its counterpart: only the first lap is taken, so the ring stalls for good once the driver's wrap counter flips.
/// </summary>
public sealed class IdxWrapStall() : ZooDeviation(DeviceFault.IdxWrapStall)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Rings = new Rules(seams.Rings) };

    private sealed class Rules(IRingRules inner) : RingRulesDecorator(inner)
    {
        public override bool IsEmpty(ushort availIdx, ushort lastAvailIdx) => base.IsEmpty(availIdx, lastAvailIdx) || availIdx < lastAvailIdx;

        public override bool IsAvailable(ushort flags, bool wrap) => wrap && base.IsAvailable(flags, wrap);
    }
}

/// <summary>
/// malformed-chain-stops-queue: a refused chain is left on the ring unconsumed and the ring takes nothing more until it
/// is set up again, without being marked broken (so no DEVICE_NEEDS_RESET either).
/// </summary>
public sealed class MalformedChainStopsQueue() : ZooDeviation(DeviceFault.MalformedChainStopsQueue)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Rings = new Rules(seams.Rings) };

    private sealed class Rules(IRingRules inner) : RingRulesDecorator(inner)
    {
        private readonly HashSet<IDeviceVirtqueue> _stopped = [];

        public override bool Serves(IDeviceVirtqueue ring) => !_stopped.Contains(ring) && base.Serves(ring);

        public override void Refused(IDeviceVirtqueue ring, ChainHandle chain)
        {
            // The chain stays where the driver put it, never returned: a clean stop, not a retry of the same chain.
            ring.Untake(chain);
            _stopped.Add(ring);
        }
    }
}
