using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Reference.Zoo;

/// <summary>disabled-tx-stalls: a disabled transmit ring is left unprocessed instead of being drained and discarded.</summary>
public sealed class DisabledTxStalls() : ZooDeviation(DeviceFault.DisabledTxStalls)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Transmit = new Rules(seams.Transmit) };

    private sealed class Rules(ITransmitRules inner) : TransmitRulesDecorator(inner)
    {
        public override bool Drains(bool enabled) => enabled && base.Drains(enabled);
    }
}

/// <summary>disabled-tx-kept: a transmitq above the pairs in use is drained and its frames dropped, but its buffers never come back.</summary>
public sealed class DisabledTxKept() : ZooDeviation(DeviceFault.DisabledTxKept)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Transmit = new Rules(seams.Transmit) };

    private sealed class Rules(ITransmitRules inner) : TransmitRulesDecorator(inner)
    {
        public override bool ReturnsBuffer(bool enabled) => enabled && base.ReturnsBuffer(enabled);
    }
}

/// <summary>
/// tx-header-own-descriptor, as bhyve's transmit path had it: the whole first descriptor is taken as the header,
/// whatever its length, and the frame is gathered from the readable descriptors after it.
/// </summary>
public sealed class TxHeaderOwnDescriptor() : ZooDeviation(DeviceFault.TxHeaderOwnDescriptor)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Transmit = new Rules(seams.Transmit) };

    private sealed class Rules(ITransmitRules inner) : TransmitRulesDecorator(inner)
    {
        public override int Gather(DescriptorChain chain, GuestMemory memory, Span<byte> packet)
        {
            packet[..SplitRing.NetHeaderSize].Clear();
            var afterFirst = new DescriptorChain(chain.Head, [.. chain.Segments.Skip(1)]);
            return SplitRing.NetHeaderSize + afterFirst.CopyReadable(memory, packet[SplitRing.NetHeaderSize..]);
        }
    }
}

/// <summary>tx-partial-burst-kept: transmit buffers go back only in whole bursts of 32; a partial burst is never published.</summary>
public sealed class TxPartialBurstKept() : ZooDeviation(DeviceFault.TxPartialBurstKept)
{
    /// <summary>The data plane's burst: it publishes used idx every this many transmit buffers.</summary>
    private const int Burst = 32;

    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Transmit = new Rules(seams.Transmit) };

    private sealed class Rules(ITransmitRules inner) : TransmitRulesDecorator(inner)
    {
        public override bool PublishesAtEnd(int taken) => taken % Burst == 0 && base.PublishesAtEnd(taken);
    }
}
