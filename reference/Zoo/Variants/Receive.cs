using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Spec;

namespace VirtioMq.Reference.Zoo;

/// <summary>rx-num-buffers-zero: num_buffers is left 0 without MRG_RXBUF (it must be 1), as DPDK 22.11 does.</summary>
public sealed class RxNumBuffersZero() : ZooDeviation(DeviceFault.RxNumBuffersZero)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Receive = new Rules(seams.Receive) };

    private sealed class Rules(IReceiveRules inner) : ReceiveRulesDecorator(inner)
    {
        public override void WriteHeader(Span<byte> header)
        {
            base.WriteHeader(header);
            header[ReceiveRules.NumBuffersOffset] = 0;
        }
    }
}

/// <summary>rx-len-without-header: the used length counts the frame but not the virtio-net header written in front of it.</summary>
public sealed class RxLenWithoutHeader() : ZooDeviation(DeviceFault.RxLenWithoutHeader)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Receive = new Rules(seams.Receive) };

    private sealed class Rules(IReceiveRules inner) : ReceiveRulesDecorator(inner)
    {
        public override uint UsedLength(int written) => base.UsedLength(written) - SplitRing.NetHeaderSize;
    }
}

/// <summary>rx-duplicates: every frame is delivered twice, into two receive buffers.</summary>
public sealed class RxDuplicates() : ZooDeviation(DeviceFault.RxDuplicates)
{
    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) => seams with { Receive = new Rules(seams.Receive) };

    private sealed class Rules(IReceiveRules inner) : ReceiveRulesDecorator(inner)
    {
        public override int Copies => 2 * base.Copies;
    }
}
