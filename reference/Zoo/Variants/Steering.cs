using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;

namespace VirtioMq.Reference.Zoo;

/// <summary>
/// rx-on-disabled: frames are delivered on receive queues above the current virtqueue_pairs: a frame sent on any
/// transmitq, enabled or not, comes back on the receiveq of the same pair.
/// </summary>
public sealed class RxOnDisabled() : ZooDeviation(DeviceFault.RxOnDisabled)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) =>
        seams with { Transmit = new Transmit(seams.Transmit), Steering = new Steering(seams.Steering) };

    private sealed class Transmit(ITransmitRules inner) : TransmitRulesDecorator(inner)
    {
        public override bool Forwards(bool enabled) => true;
    }

    private sealed class Steering(IReceiveSteering inner) : ReceiveSteeringDecorator(inner)
    {
        public override int? Select(ReadOnlySpan<byte> frame, int txPair, IReadOnlySet<int> enabledPairs)
        {
            base.Select(frame, txPair, enabledPairs);
            return txPair;
        }
    }
}

/// <summary>steer-all-to-q1: every frame lands on receiveq1, whatever transmitq it came from (breaks only a SHOULD).</summary>
public sealed class SteerAllToQ1() : ZooDeviation(DeviceFault.SteerAllToQ1)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Steering = new Steering(seams.Steering) };

    private sealed class Steering(IReceiveSteering inner) : ReceiveSteeringDecorator(inner)
    {
        public override int? Select(ReadOnlySpan<byte> frame, int txPair, IReadOnlySet<int> enabledPairs)
        {
            base.Select(frame, txPair, enabledPairs);
            return 1;
        }
    }
}

/// <summary>steer-to-max-pairs: a hash table sized by max_virtqueue_pairs, as mlx5's was, blind to the pairs in use.</summary>
public sealed class SteerToMaxPairs() : ZooDeviation(DeviceFault.SteerToMaxPairs)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) =>
        seams with { Steering = new Steering(seams.Steering, options.MaxPairs) };

    private sealed class Steering(IReceiveSteering inner, int maxPairs) : ReceiveSteeringDecorator(inner)
    {
        public override int? Select(ReadOnlySpan<byte> frame, int txPair, IReadOnlySet<int> enabledPairs)
        {
            base.Select(frame, txPair, enabledPairs);
            return (int)(FlowKey.Of(frame).StableHash() % (uint)maxPairs) + 1;
        }
    }
}

/// <summary>drops-top-pair: VQ_PAIRS_SET(n) is applied, but frames sent on transmitqn (n above 1) are dropped.</summary>
public sealed class DropsTopPair() : ZooDeviation(DeviceFault.DropsTopPair)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Steering = new Steering(seams.Steering) };

    private sealed class Steering(IReceiveSteering inner) : ReceiveSteeringDecorator(inner)
    {
        public override int? Select(ReadOnlySpan<byte> frame, int txPair, IReadOnlySet<int> enabledPairs)
        {
            var rx = base.Select(frame, txPair, enabledPairs);
            return txPair > 1 && enabledPairs.Count > 0 && txPair == enabledPairs.Max() ? null : rx;
        }
    }
}

/// <summary>drops-first-frame: the first frame sent on each transmitq after the data plane starts is dropped.</summary>
public sealed class DropsFirstFrame() : ZooDeviation(DeviceFault.DropsFirstFrame)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Steering = new Steering(seams.Steering) };

    private sealed class Steering(IReceiveSteering inner) : ReceiveSteeringDecorator(inner)
    {
        private readonly HashSet<int> _dropped = [];

        public override int? Select(ReadOnlySpan<byte> frame, int txPair, IReadOnlySet<int> enabledPairs)
        {
            var rx = base.Select(frame, txPair, enabledPairs);
            return _dropped.Add(txPair) ? null : rx;
        }
    }
}
