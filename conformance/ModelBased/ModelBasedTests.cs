using FsCheck.Experimental;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;

namespace VirtioMq.Conformance.ModelBased;

[TestFixture, Category("Model-based"), Plane(Plane.Control, Plane.Data)]
public sealed class ModelBasedTests
{
    public static FsCheck.Property DeviceFollowsTheModel(SuiteContext ctx) => new MqMachine(ctx).ToProperty();

    [Test, Requirement("net.vq.def.layout", "net.mq.def.vq-pairs-set", "net.mq.dev.rx-limit-after-used", "net.mq.dev.rx-q1-after-reset",
        "net.mq.dev.follow-tx", "core.reset.dev.status-zero", "core.feat.dev.renegotiate-after-reset",
        "robust.mq.pairs-set-zero-rejected", "robust.mq.pairs-set-above-max-rejected")]
    public void Random_command_sequences_match_the_model() => Suite.Verify(DeviceFollowsTheModel(SuiteContext.Current));
}
