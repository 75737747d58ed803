using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Conformance.Rules;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.ModelBased;

/// <summary>The model side of a run: the device model plus what the driver has set up.</summary>
public sealed record MachineModel(MqDeviceModel Device, int ConfiguredPairs, bool Initialized)
{
    public override string ToString() => Device.ToString();
}

/// <summary>
/// Random sequences of reset, initialise, VQ_PAIRS_SET (valid or not), transmit and freeze/restore, run against
/// the device and <see cref="MqDeviceModel"/> side by side. FsCheck shrinks a divergence to the shortest
/// sequence that still shows it; the exception names the requirement the device broke.
/// </summary>
public sealed class MqMachine(SuiteContext ctx, int maxCommands = 24) : Machine<DriverSession, MachineModel>(maxCommands)
{
    private readonly DeviceFacts _facts = DeviceFacts.Of(ctx);
    private readonly CommandRate _rate = new();

    /// <summary>The commands this machine has run against the device so far, and how fast (see <see cref="CommandRate"/>).</summary>
    public CommandRate Rate => _rate;

    public override Arbitrary<Setup<DriverSession, MachineModel>> Setup =>
        Arb.From(Generators.MaxPairs(ctx).Select(m => m > Generators.TrafficPairs * 4 ? Generators.TrafficPairs : m)
            .Select(m => (Setup<DriverSession, MachineModel>)new DeviceSetup(ctx, m, _facts, _rate)));

    public override TearDown<DriverSession> TearDown => StateMachine.TearDown<DriverSession>(s => s.Dispose());

    public override Gen<Operation<DriverSession, MachineModel>> Next(MachineModel model)
    {
        var m = model.Device.MaxPairs;
        var c = model.ConfiguredPairs;
        var ops = new List<(int, Gen<Operation<DriverSession, MachineModel>>)>
        {
            (1, Gen.Constant<Operation<DriverSession, MachineModel>>(new ResetOp(_rate))),
            (model.Initialized ? 1 : 6, Gen.Constant<Operation<DriverSession, MachineModel>>(new InitializeOp(_rate))),
        };
        if (model.Device.Live)
        {
            ops.Add((4, Gen.Frequency(
                    (6, Gen.Choose(1, c)),
                    (1, Gen.Constant(0)),
                    (1, Gen.Constant(m + 1)))
                .Select(n => (Operation<DriverSession, MachineModel>)new PairsSetOp(n, _rate))));
            ops.Add((6, Gen.Choose(1, c).SelectMany(k => Gen.Choose(0, 15).Select(f => (Operation<DriverSession, MachineModel>)new TransmitOp(k, f, _rate)))));
            ops.Add((1, Gen.Constant<Operation<DriverSession, MachineModel>>(new FreezeRestoreOp(_rate))));
        }
        return Gen.Frequency(ops.ToArray());
    }

    private sealed class DeviceSetup(SuiteContext ctx, int maxPairs, DeviceFacts facts, CommandRate rate) : Setup<DriverSession, MachineModel>
    {
        public override DriverSession Actual()
        {
            rate.SequenceStarted();
            return ctx.Open(maxPairs);
        }

        public override MachineModel Model()
        {
            // Without MQ (or RSS) there is one pair whatever the URI asked for: max_virtqueue_pairs does not exist (§5.1.4).
            var multiqueue = facts.Offered.Has(FeatureBit.NetMq) || facts.Offered.Has(FeatureBit.NetRss);
            var m = !multiqueue ? 1 : ctx.CanChoosePairs ? maxPairs : facts.MaxPairs;
            return new MachineModel(MqDeviceModel.Initial(facts.Offered, m, ctx.Version), Math.Min(m, Generators.TrafficPairs), false);
        }
        public override string ToString() => $"open device with max_virtqueue_pairs={maxPairs}";
    }

    private static Property Ok() => Prop.ToProperty(true);

    /// <summary>
    /// Runs an operation's check, closing the device when it throws: FsCheck does not tear a machine down after a
    /// failed step, and a vhost-user back-end that serves one front-end at a time would wait on that session forever.
    /// </summary>
    private static Property Guarded(DriverSession s, CommandRate rate, Action check)
    {
        rate.CommandRun();
        try
        {
            check();
            return Ok();
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    private sealed class ResetOp(CommandRate rate) : Operation<DriverSession, MachineModel>
    {
        public override MachineModel Run(MachineModel m) => m with { Device = m.Device.Reset(), Initialized = false };
        public override Property Check(DriverSession s, MachineModel m) => Guarded(s, rate, () => Probes.Reset(s.Driver));
        public override string ToString() => "reset";
    }

    private sealed class InitializeOp(CommandRate rate) : Operation<DriverSession, MachineModel>
    {
        public override MachineModel Run(MachineModel m)
        {
            var features = PairsRangeTests.NetDriverDefaults(m.Device.Offered);
            return m with { Device = m.Device.Reset().Negotiate(features).Next.DriverOk(), Initialized = true };
        }

        public override Property Check(DriverSession s, MachineModel m) =>
            Guarded(s, rate, () => Probes.Initialize(s.Driver, m.Device.Negotiated, m.ConfiguredPairs));

        public override string ToString() => "initialise (reset, negotiate, set up queues, DRIVER_OK)";
    }

    private sealed class PairsSetOp(int n, CommandRate rate) : Operation<DriverSession, MachineModel>
    {
        public override bool Pre(MachineModel m) => m.Device.Live && m.Device.Negotiated.Has(FeatureBit.NetCtrlVq);
        public override MachineModel Run(MachineModel m) => m with { Device = m.Device.VqPairsSet(n).Next };

        public override Property Check(DriverSession s, MachineModel modelAfter)
        {
            // FsCheck hands Check the model after Run; whether n is acceptable does not depend on the pairs in force.
            return Guarded(s, rate, () => Probes.PairsSet(s.Driver, modelAfter.Device, n, AllDeviceRules));
        }

        public override string ToString() => $"VQ_PAIRS_SET({n})";
    }

    private sealed class TransmitOp(int pair, int flow, CommandRate rate) : Operation<DriverSession, MachineModel>
    {
        public override bool Pre(MachineModel m) => m.Device.Live && pair <= m.ConfiguredPairs;
        public override MachineModel Run(MachineModel m) => m;

        public override Property Check(DriverSession s, MachineModel m) =>
            Guarded(s, rate, () => Probes.Loopback(s.Driver, m.Device, pair, flow, AllDeviceRules));

        public override string ToString() => $"transmit on transmitq{pair} (flow {flow})";
    }

    private sealed class FreezeRestoreOp(CommandRate rate) : Operation<DriverSession, MachineModel>
    {
        public override bool Pre(MachineModel m) => m.Device.Live;

        public override MachineModel Run(MachineModel m)
        {
            var restored = m.Device.Reset().Negotiate(m.Device.Negotiated).Next.DriverOk();
            return m with { Device = restored.MultiqueueNegotiated ? restored.VqPairsSet(m.Device.CurrentPairs).Next : restored };
        }

        public override Property Check(DriverSession s, MachineModel modelAfter) => Guarded(s, rate, () =>
        {
            var d = s.Driver;
            var features = d.Negotiated;
            var pairs = modelAfter.Device.CurrentPairs;
            Probes.Initialize(d, features, modelAfter.ConfiguredPairs, Rule.CoreFeatDevRenegotiateAfterReset);
            if (features.Has(FeatureBit.NetMq))
            {
                var restored = modelAfter.Device with { CurrentPairs = 1, PairsSetSinceReset = false };
                Probes.PairsSet(d, restored, pairs, AllDeviceRules);
            }
        });

        public override string ToString() => "freeze (reset) and restore (re-initialise, VQ_PAIRS_SET(previous))";
    }

    /// <summary>Everything the model judges; the first divergence of any kind ends the run.</summary>
    public static readonly string[] AllDeviceRules =
    [
        Rule.NetVqDefLayout, Rule.NetMqDefVqPairsSet, Rule.NetMqDevRxLimitAfterUsed, Rule.NetMqDevRxQ1AfterReset,
        Rule.NetMqDevFollowTx, Rule.CoreStatusDevNoUseBeforeDriverOk, Rule.CoreResetDevStatusZero,
        Rule.CoreFeatDevAcceptValidSubset, Rule.CoreFeatDevRenegotiateAfterReset,
        Rule.RobustMqPairsSetZeroRejected, Rule.RobustMqPairsSetAboveMaxRejected, Rule.RobustMqPairsSetWithoutMqRejected,
    ];
}

/// <summary>
/// How fast the model-based test drives the device: commands run (reset, initialise, VQ_PAIRS_SET, transmit,
/// freeze/restore), sequences (each opens the device afresh) and the time from the first sequence's start, so a device
/// that makes the test slow, or a change that does, shows as a rate in the test's output and the report's reason.
/// </summary>
public sealed class CommandRate
{
    private System.Diagnostics.Stopwatch? _clock;

    public int Commands { get; private set; }
    public int Sequences { get; private set; }
    public TimeSpan Elapsed => _clock?.Elapsed ?? TimeSpan.Zero;

    /// <summary>Commands per second since the first sequence started; 0 before any.</summary>
    public double PerSecond => Elapsed > TimeSpan.Zero ? Commands / Elapsed.TotalSeconds : 0;

    /// <summary>A sequence opens the device; the first starts the clock and adds the rate to the running check's note.</summary>
    public void SequenceStarted()
    {
        if (_clock is null)
        {
            _clock = System.Diagnostics.Stopwatch.StartNew();
            CheckNotes.Add(() => ToString());
        }
        Sequences++;
    }

    public void CommandRun() => Commands++;

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Commands} model-based command(s) in {Sequences} sequence(s) over {Elapsed.TotalSeconds:0.0} s: {PerSecond:0.0} command(s)/s");
}
