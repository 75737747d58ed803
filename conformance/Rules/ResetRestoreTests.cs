using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Reset and hibernation (§2.4, §2.2.2, §5.1.9.5.6.2). Linux freezes a device by resetting it and restores it
/// by initialising it again with the same features, DRIVER_OK, receive buffers on every pair in use and only
/// then VQ_PAIRS_SET(previous) — sending on the other transmit queues in between. The device must start over in
/// single-queue mode and come back to the old pair count once asked.
/// </summary>
[TestFixture, Category("Reset and restore")]
public sealed class ResetRestoreTests
{
    public sealed record Case(int MaxPairs, int Pairs)
    {
        public override string ToString() => $"max_virtqueue_pairs={MaxPairs}, VQ_PAIRS_SET({Pairs}) before the reset";
    }

    private static Arbitrary<Case> Cases(SuiteContext ctx)
    {
        var gen = from m in Generators.MaxPairs(ctx)
                  from n in Gen.Choose(1, Math.Min(m, Generators.TrafficPairs))
                  select new Case(m, n);
        return Arb.From(gen, c => Generators.ShrinkPairs(c.Pairs).Select(n => c with { Pairs = n })
            .Concat(Generators.ShrinkPairs(c.MaxPairs, c.Pairs).Select(m => c with { MaxPairs = m })));
    }

    /// <summary>Brings a device to <paramref name="pairs"/> active pairs with traffic on each, as before a freeze.</summary>
    private static MqDeviceModel Warm(Adapters.Driver.NetDriver d, int configured, int pairs)
    {
        Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), configured);
        var model = PairsRangeTests.Model(d);
        if (model.MultiqueueNegotiated) model = Probes.PairsSet(d, model, pairs, Rule.NetMqDefVqPairsSet);
        for (var k = 1; k <= model.CurrentPairs; k++) d.SendAndLocate(k, flow: k, d.ResponseWait);
        return model;
    }

    /// <summary>
    /// Warms the device to the case's pairs, resets it and initialises it again with the same features (a freeze
    /// and the first half of a restore). Returns the model before the reset, the model right after DRIVER_OK, and
    /// the pairs set up.
    /// </summary>
    private static (MqDeviceModel Before, MqDeviceModel After, int Configured) ResetAndReinitialise(Adapters.Driver.NetDriver d, Case c)
    {
        d.BeginNegotiation();
        var configured = Math.Min(d.MaxPairs, Generators.TrafficPairs);
        var before = Warm(d, configured, Math.Min(c.Pairs, configured));
        Probes.Initialize(d, d.Negotiated, configured, Rule.CoreFeatDevRenegotiateAfterReset);
        return (before, before.Reset().Negotiate(d.Negotiated).Next.DriverOk(), configured);
    }

    public static Property OnlyReceiveq1AfterReset(SuiteContext ctx) =>
        Prop.ForAll(Cases(ctx), c =>
        {
            using var s = ctx.Open(c.MaxPairs);
            var d = s.Driver;
            var (before, model, _) = ResetAndReinitialise(d, c);
            // Every transmitq the driver used before the reset, as Linux's restore window does.
            Probes.LoopbackAll(d, model, Enumerable.Range(1, before.CurrentPairs).Select(k => (k, k)), Rule.NetMqDevRxQ1AfterReset, Rule.NetVqDefLayout);
        });

    public static Property FreezeRestoreKeepsPairs(SuiteContext ctx) =>
        Prop.ForAll(Cases(ctx), c =>
        {
            using var s = ctx.Open(c.MaxPairs);
            var d = s.Driver;
            // Freeze: reset, rings forgotten. Restore: same features, DRIVER_OK, then VQ_PAIRS_SET(previous).
            var (frozen, model, configured) = ResetAndReinitialise(d, c);
            if (model.MultiqueueNegotiated) model = Probes.PairsSet(d, model, frozen.CurrentPairs, Rule.NetMqDefVqPairsSet);
            Expect.That(model.CurrentPairs == frozen.CurrentPairs, Rule.NetMqDefVqPairsSet, $"after restore the device runs {model.CurrentPairs} pairs, not {frozen.CurrentPairs}");
            Probes.LoopbackAll(d, model, Enumerable.Range(1, configured).Select(k => (k, 100 + k)),
                Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed, Rule.NetVqDefLayout);
        });

    public static readonly SuiteCheck Receiveq1AfterReset = new(nameof(After_reset_only_receiveq1_is_used_until_VQ_PAIRS_SET), OnlyReceiveq1AfterReset,
        [Rule.NetMqDevRxQ1AfterReset, Rule.CoreResetDevStatusZero, Rule.CoreFeatDevRenegotiateAfterReset], [Plane.Control, Plane.Data]);

    public static readonly SuiteCheck FreezeRestore = new(nameof(Freeze_and_restore_bring_back_the_previous_pairs), FreezeRestoreKeepsPairs,
        [Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed, Rule.CoreFeatDevRenegotiateAfterReset], [Plane.Control, Plane.Data]);

    [Test, Check]
    public void After_reset_only_receiveq1_is_used_until_VQ_PAIRS_SET() => Suite.Verify(Receiveq1AfterReset);

    [Test, Check]
    public void Freeze_and_restore_bring_back_the_previous_pairs() => Suite.Verify(FreezeRestore);
}
