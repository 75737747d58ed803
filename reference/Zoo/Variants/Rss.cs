using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Reference.Zoo;

/// <summary>rss-config-not-applied: RSS_CONFIG is acked OK and its pairs put in use, but automatic steering goes on deciding.</summary>
public sealed class RssConfigNotApplied() : ZooDeviation(DeviceFault.RssConfigNotApplied)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Controlq = new Commands(seams.Controlq) };

    private sealed class Commands(IControlCommands inner) : IControlCommands
    {
        public NetAck Execute(ControlCommand command, IControlTarget device)
        {
            var ack = inner.Execute(command, device);
            if (command is { Class: NetControl.ClassMq, Command: NetControl.MqRssConfig }) device.Scaling.UseAutomaticSteering();
            return ack;
        }
    }
}

/// <summary>rss-refusal-disables: RSS is switched off before a command is validated, so a refused RSS_CONFIG leaves automatic steering.</summary>
public sealed class RssRefusalDisables() : ZooDeviation(DeviceFault.RssRefusalDisables)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Controlq = new Commands(seams.Controlq) };

    private sealed class Commands(IControlCommands inner) : IControlCommands
    {
        public NetAck Execute(ControlCommand command, IControlTarget device)
        {
            if (command.Class == NetControl.ClassMq) device.Scaling.UseAutomaticSteering();
            return inner.Execute(command, device);
        }
    }
}

/// <summary>rss-table-stride: indirection table slot i holds entry 4i (16-bit entries packed into 8-byte slots); slots past the table read 0.</summary>
public sealed class RssTableStride() : ZooDeviation(DeviceFault.RssTableStride)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Hashing = new Hashing(seams.Hashing) };

    private sealed class Hashing(IPacketHashing inner) : PacketHashingDecorator(inner)
    {
        public override int Select(RssConfig config, HashOutcome outcome)
        {
            if (!outcome.Hashed) return base.Select(config, outcome);
            var slot = 4 * (int)(outcome.Value & config.IndirectionTableMask);
            return 1 + (slot < config.IndirectionTable.Count ? config.IndirectionTable[slot] : 0);
        }
    }
}

/// <summary>hash-report-uninitialised: with no hash computed, hash_value and hash_report keep what the buffer held before: the last hash reported.</summary>
public sealed class HashReportUninitialised() : ZooDeviation(DeviceFault.HashReportUninitialised)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Receive = new Receive(seams.Receive) };

    private sealed class Receive(IReceiveRules inner) : ReceiveRulesDecorator(inner)
    {
        // What the stack held before the first hash: not zero.
        private HashOutcome _stale = new(NetHashReport.UdpV4, 0xdeadbeef);

        public override void WriteHash(Span<byte> header, HashOutcome outcome)
        {
            if (outcome.Hashed) _stale = outcome;
            base.WriteHash(header, outcome.Hashed ? outcome : _stale);
        }
    }
}

/// <summary>queue-reset-keeps-serving: queue_reset reads back 0 and queue_enable 0, but the device goes on using the ring it had.</summary>
public sealed class QueueResetKeepsServing() : ZooDeviation(DeviceFault.QueueResetKeepsServing)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Lifecycle = new Lifecycle(seams.Lifecycle) };

    private sealed class Lifecycle(IDeviceLifecycle inner) : DeviceLifecycleDecorator(inner)
    {
        public override void ResetQueue(int vq, Action<int> stop) { }
    }
}

/// <summary>rss-outlives-pairs-set: while RSS steers, VQ_PAIRS_SET is acked OK and ignored: the table and its pairs stay in force.</summary>
public sealed class RssOutlivesPairsSet() : ZooDeviation(DeviceFault.RssOutlivesPairsSet)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Controlq = new Commands(seams.Controlq) };

    private sealed class Commands(IControlCommands inner) : IControlCommands
    {
        public NetAck Execute(ControlCommand command, IControlTarget device) =>
            device.Scaling.SteersByRss && PairsSet.Of(command) is not null ? NetAck.Ok : inner.Execute(command, device);
    }
}
