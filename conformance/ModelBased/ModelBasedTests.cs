using FsCheck.Experimental;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.ModelBased;

[TestFixture, Category("Model-based")]
public sealed class ModelBasedTests
{
    public static FsCheck.Property DeviceFollowsTheModel(SuiteContext ctx) => new MqMachine(ctx).ToProperty();

    public static readonly SuiteCheck MatchesTheModel = new(nameof(Random_command_sequences_match_the_model), DeviceFollowsTheModel,
        [Rule.NetVqDefLayout, Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevRxQ1AfterReset, Rule.NetMqDevFollowTx,
         Rule.CoreResetDevStatusZero, Rule.CoreFeatDevRenegotiateAfterReset, Rule.RobustMqPairsSetZeroRejected, Rule.RobustMqPairsSetAboveMaxRejected],
        [Plane.Control, Plane.Data]);

    [Test, Check]
    public void Random_command_sequences_match_the_model() => Suite.Verify(MatchesTheModel);
}
