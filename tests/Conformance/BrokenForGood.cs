using VirtioMq.Reference.Net;
using VirtioMq.Reference.Seams;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Reference.Zoo;

namespace VirtioMq.Tests.Conformance;

/// <summary>
/// A back-end that one check breaks for every session after it, as Open vSwitch is when it cannot size its buffers for
/// the pairs a front-end set up and removes its port: once a ring is started at an index past 0x8000 (the suite's
/// index-wrap checks do that), no frame is forwarded again, in this session or any later one. Not in the zoo: no rule
/// says a device must outlive a bug, the point is which checks the suite blames for it.
/// </summary>
internal sealed class BrokenForGood : Deviation
{
    private volatile bool _broken;

    public override string Name => "broken-for-good";

    public override bool InBackend => true;

    public override DeviceSeams Plug(DeviceSeams seams, ReferenceOptions options) =>
        seams with { VhostUser = new Trigger(seams.VhostUser, this), Transmit = new Silent(seams.Transmit, this) };

    private sealed class Trigger(IVhostUserRules inner, BrokenForGood device) : VhostUserRulesDecorator(inner)
    {
        public override uint ResumeAt(uint @base)
        {
            if (@base >= 0x8000) device._broken = true;
            return base.ResumeAt(@base);
        }
    }

    private sealed class Silent(ITransmitRules inner, BrokenForGood device) : TransmitRulesDecorator(inner)
    {
        public override bool Forwards(bool enabled) => !device._broken && base.Forwards(enabled);
    }
}
