using System.Buffers.Binary;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Spec;

namespace VirtioMq.Reference.Zoo;

/// <summary>The VQ_PAIRS_SET value of a command, when it is one and carries it.</summary>
internal static class PairsSet
{
    public static int? Of(ControlCommand c) =>
        c is { Class: NetControl.ClassMq, Command: NetControl.MqVqPairsSet, Data.Length: >= 2 } ? BinaryPrimitives.ReadUInt16LittleEndian(c.Data) : null;
}

/// <summary>A control-command decorator that takes over the commands <see cref="Handles"/> picks and acks them OK after applying them.</summary>
public abstract class AcceptsPairs(IControlCommands inner) : IControlCommands
{
    protected abstract bool Handles(int pairs, IControlTarget device);

    public NetAck Execute(ControlCommand command, IControlTarget device)
    {
        if (PairsSet.Of(command) is not { } n || !Handles(n, device)) return inner.Execute(command, device);
        device.SetPairs(n);
        return NetAck.Ok;
    }
}

/// <summary>accept-pairs-0: VQ_PAIRS_SET(0) acked OK and applied.</summary>
public sealed class AcceptPairsZero() : ZooDeviation(DeviceFault.AcceptPairsZero)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Controlq = new Commands(seams.Controlq) };

    private sealed class Commands(IControlCommands inner) : AcceptsPairs(inner)
    {
        protected override bool Handles(int pairs, IControlTarget device) => pairs == 0 && device.Negotiated.Has(FeatureBit.NetMq);
    }
}

/// <summary>accept-pairs-above-max: VQ_PAIRS_SET(n) above max_virtqueue_pairs acked OK and applied.</summary>
public sealed class AcceptPairsAboveMax() : ZooDeviation(DeviceFault.AcceptPairsAboveMax)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Controlq = new Commands(seams.Controlq) };

    private sealed class Commands(IControlCommands inner) : AcceptsPairs(inner)
    {
        protected override bool Handles(int pairs, IControlTarget device) => pairs > device.MaxPairs && device.Negotiated.Has(FeatureBit.NetMq);
    }
}

/// <summary>accept-pairs-without-mq: VQ_PAIRS_SET is carried out as if MQ had been negotiated.</summary>
public sealed class AcceptPairsWithoutMq() : ZooDeviation(DeviceFault.AcceptPairsWithoutMq)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Controlq = new Commands(seams.Controlq) };

    private sealed class Commands(IControlCommands inner) : IControlCommands
    {
        public NetAck Execute(ControlCommand command, IControlTarget device) => inner.Execute(command, new SeesMq(device));
    }

    private sealed class SeesMq(IControlTarget device) : ControlTargetView(device)
    {
        public override FeatureSet Negotiated => base.Negotiated.With(FeatureBit.NetMq);
    }
}

/// <summary>ack-unknown-commands: every control class and command it does not know is acked OK.</summary>
public sealed class AckUnknownCommands() : ZooDeviation(DeviceFault.AckUnknownCommands)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Controlq = new Commands(seams.Controlq) };

    private sealed class Commands(IControlCommands inner) : IControlCommands
    {
        public NetAck Execute(ControlCommand c, IControlTarget device) =>
            c is { Class: NetControl.ClassMq, Command: NetControl.MqVqPairsSet } ? inner.Execute(c, device) : NetAck.Ok;
    }
}

/// <summary>restore-loses-pairs: once the device has been started a second time, VQ_PAIRS_SET is acked OK but not applied.</summary>
public sealed class RestoreLosesPairs() : ZooDeviation(DeviceFault.RestoreLosesPairs)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options)
    {
        var starts = new Starts(seams.Lifecycle);
        return seams with { Lifecycle = starts, Controlq = new Commands(seams.Controlq, starts) };
    }

    private sealed class Starts(IDeviceLifecycle inner) : DeviceLifecycleDecorator(inner)
    {
        public int Count { get; private set; }

        public override void Started()
        {
            Count++;
            base.Started();
        }
    }

    private sealed class Commands(IControlCommands inner, Starts starts) : IControlCommands
    {
        public NetAck Execute(ControlCommand command, IControlTarget device) =>
            inner.Execute(command, starts.Count > 1 ? new Unapplied(device) : device);
    }

    private sealed class Unapplied(IControlTarget device) : ControlTargetView(device)
    {
        public override void SetPairs(int pairs) { }
    }
}
