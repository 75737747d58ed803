using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Receive-side scaling and hash reporting (§5.1.4, §5.1.9.4.3, §5.1.9.5.6.4, §5.1.9.5.7): the configuration fields, where
/// every packet lands under a generated key, table and hash type set, the hash each one reports, and what a refused or
/// forgotten configuration leaves behind. Every expectation comes from the oracle in spec/Rss.
/// </summary>
[TestFixture, Category("RSS and hash reporting")]
public sealed class RssTests
{
    private static bool Offers(SuiteContext ctx, FeatureBit bit) => DeviceFacts.Of(ctx).Offered.Has(bit);

    private static void RequireOffer(SuiteContext ctx, params FeatureBit[] any)
    {
        if (!any.Any(b => Offers(ctx, b))) Suite.NotApplicable($"{ctx.Device}: the device offers none of {string.Join(", ", any)}");
    }

    /// <summary>rss_max_key_size ≥ 40 with RSS or HASH_REPORT, rss_max_indirection_table_length ≥ 128 with RSS, only defined hash types.</summary>
    public static Property ConfigFields(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Gen.Constant(0)), _ =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var rss = d.Offered.Has(FeatureBit.NetRss);
            if (!rss && !d.Offered.Has(FeatureBit.NetHashReport)) { ThisCase.NotApplicable("the device offers neither RSS nor HASH_REPORT"); return; }
            var limits = d.ReadRssLimits();
            Expect.That(limits.MaxKeySize >= 40, Rule.NetCfgDevRssKeySize, $"rss_max_key_size reads {limits.MaxKeySize}; with {(rss ? "RSS" : "HASH_REPORT")} offered it must be at least 40");
            if (rss)
                Expect.That(limits.MaxIndirectionTableLength >= 128, Rule.NetCfgDevRssTableLen,
                    $"rss_max_indirection_table_length reads {limits.MaxIndirectionTableLength}; with RSS offered it must be at least 128");
            Expect.That((limits.SupportedHashTypes & ~NetHashTypes.All) == 0, Rule.NetHashDefTypes,
                $"supported_hash_types reads 0x{(uint)limits.SupportedHashTypes:x}: bits above 0x1ff are no hash type the spec defines");
        });

    public sealed record SteeringCase(RssConfig Config, bool HashReport, RssSend[] Sends)
    {
        public override string ToString() => $"RSS_CONFIG({Config}){(HashReport ? " with HASH_REPORT" : "")}, then {Sends.Length} packet(s): {string.Join("; ", Sends.Select(x => x.ToString()))}";
    }

    private static Gen<SteeringCase> SteeringCases(SuiteContext ctx, RssLimits limits) =>
        from config in RssGenerators.Config(limits, Math.Min(limits.MaxPairs, Generators.TrafficPairs))
        from hashReport in Offers(ctx, FeatureBit.NetHashReport) ? Gen.Elements(false, true) : Gen.Constant(false)
        from sends in RssGenerators.Sends(config.MaxTxVq, 4, 12)
        select new SteeringCase(config, hashReport, sends);

    private static IEnumerable<SteeringCase> Shrink(SteeringCase c) =>
        Generators.ShrinkList(c.Sends).Where(s => s.Length > 0).Select(s => c with { Sends = s });

    private static RssLimits Limits(SuiteContext ctx)
    {
        using var s = ctx.Open();
        s.Driver.BeginNegotiation();
        return s.Driver.ReadRssLimits();
    }

    /// <summary>
    /// After an accepted RSS_CONFIG, every packet lands on table[hash &amp; mask] (unclassified_queue when no hash applies),
    /// with the Toeplitz hash of the fields its hash types name; with HASH_REPORT, the header reports that hash and type.
    /// </summary>
    public static Property Steering(SuiteContext ctx)
    {
        RequireOffer(ctx, FeatureBit.NetRss);
        var limits = Limits(ctx);
        return Prop.ForAll(Arb.From(SteeringCases(ctx, limits), Shrink), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            Probes.Initialize(d, RssProbes.Features(d, rss: true, c.HashReport), c.Config.MaxTxVq);
            var model = RssProbes.Configure(d, PairsRangeTests.Model(d), c.Config, limits);
            foreach (var send in c.Sends) RssProbes.Send(d, model, send, c.Config.ToString());
        });
    }

    public sealed record HashCase(NetHashTypes Types, byte[] Key, RssSend[] Before, RssSend[] After)
    {
        public override string ToString() =>
            $"{Before.Length} packet(s) before any HASH_CONFIG ({string.Join("; ", Before.Select(x => x.ToString()))}), HASH_CONFIG(hash_types={Types} key={Convert.ToHexString(Key)}), " +
            $"then {string.Join("; ", After.Select(x => x.ToString()))}";
    }

    /// <summary>
    /// Hash reporting without RSS (§5.1.9.5.6.4): nothing is hashed until HASH_CONFIG (reports NONE), HASH_CONFIG is taken,
    /// and every packet after it reports the hash and type of its hash types and key.
    /// </summary>
    public static Property HashReporting(SuiteContext ctx)
    {
        RequireOffer(ctx, FeatureBit.NetHashReport);
        var limits = Limits(ctx);
        var gen = from types in RssGenerators.HashTypes(limits.SupportedHashTypes)
                  from key in RssGenerators.Key
                  from before in RssGenerators.Sends(1, 1, 3)
                  from after in RssGenerators.Sends(1, 3, 10)
                  select new HashCase(types, key, before, after);
        return Prop.ForAll(Arb.From(gen, c => Generators.ShrinkList(c.After).Where(a => a.Length > 0).Select(a => c with { After = a })), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            Probes.Initialize(d, RssProbes.Features(d, rss: false, hashReport: true), 1);
            var model = PairsRangeTests.Model(d);
            foreach (var send in c.Before) RssProbes.Send(d, model, send, "before HASH_CONFIG");
            var config = new HashConfig(c.Types, c.Key);
            var ack = d.HashConfigure(config);
            Expect.That(ack == NetAck.Ok, Rule.NetHashDevConfigCommand, $"HASH_CONFIG({config}) is valid for {limits}, yet the device answered {ack}");
            model = model.HashConfigure(config, limits).Next;
            foreach (var send in c.After) RssProbes.Send(d, model, send, $"after HASH_CONFIG({config})");
        });
    }

    /// <summary>The ways a driver may get RSS_CONFIG wrong that every reading of the spec calls invalid.</summary>
    public enum Invalidity
    {
        TableNotPowerOfTwo,
        TableAboveMaximum,
        UnknownHashType,
        QueueAbsent,
        UnclassifiedAbsent,
        MaxTxVqZero,
        MaxTxVqAboveMax,
        KeyTooLong,
    }

    public sealed record RefusalCase(RssConfig Good, Invalidity Kind, RssSend[] Sends)
    {
        public override string ToString() => $"RSS_CONFIG({Good}) accepted, then one with {Kind}, then {string.Join("; ", Sends.Select(x => x.ToString()))}";
    }

    private static RssConfig Spoil(RssConfig good, Invalidity kind, RssLimits limits) => kind switch
    {
        // mask = length - 1 for a length that is no power of two: 3 entries.
        Invalidity.TableNotPowerOfTwo => good with { IndirectionTable = [0, 0, 0] },
        Invalidity.TableAboveMaximum => good with { IndirectionTable = new ushort[NextPowerOfTwoAbove(limits.MaxIndirectionTableLength)] },
        Invalidity.UnknownHashType => good with { HashTypes = good.HashTypes | (NetHashTypes)(1u << 9) },
        Invalidity.QueueAbsent => good with { IndirectionTable = [.. good.IndirectionTable.Take(good.IndirectionTable.Count - 1), (ushort)limits.MaxPairs] },
        Invalidity.UnclassifiedAbsent => good with { UnclassifiedQueue = (ushort)limits.MaxPairs },
        Invalidity.MaxTxVqZero => good with { MaxTxVq = 0 },
        Invalidity.MaxTxVqAboveMax => good with { MaxTxVq = (ushort)(limits.MaxPairs + 1) },
        _ => good with { Key = new byte[limits.MaxKeySize + 1] },
    };

    private static int NextPowerOfTwoAbove(int n)
    {
        var p = 1;
        while (p <= n) p <<= 1;
        return p;
    }

    /// <summary>
    /// RSS_CONFIG that breaks a driver rule of §5.1.9.5.7.2 is answered ERR (robust.rss.invalid-config-refused), and the
    /// configuration accepted before it goes on steering (robust.rss.refusal-keeps-config).
    /// </summary>
    public static Property InvalidConfigRefused(SuiteContext ctx)
    {
        RequireOffer(ctx, FeatureBit.NetRss);
        var limits = Limits(ctx);
        var gen = from good in RssGenerators.Config(limits, Math.Min(limits.MaxPairs, Generators.TrafficPairs))
                  from kind in Gen.Elements(Enum.GetValues<Invalidity>())
                  from sends in RssGenerators.Sends(good.MaxTxVq, 2, 6)
                  select new RefusalCase(good with { HashTypes = good.HashTypes | ((NetHashTypes.IPv4 | NetHashTypes.IPv6) & limits.SupportedHashTypes) }, kind, sends);
        return Prop.ForAll(Arb.From(gen), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            Probes.Initialize(d, RssProbes.Features(d, rss: true, hashReport: false), c.Good.MaxTxVq);
            var model = RssProbes.Configure(d, PairsRangeTests.Model(d), c.Good, limits);
            var bad = Spoil(c.Good, c.Kind, limits);
            var why = limits.Problems(bad).Select(p => p.Why).FirstOrDefault() ?? c.Kind.ToString();
            var ack = d.RssConfigure(bad);
            Expect.That(ack == NetAck.Err, Rule.RobustRssInvalidConfigRefused, $"RSS_CONFIG({bad}) answered {ack}: {why}");
            if (ack != NetAck.Err) return; // what an accepted invalid configuration does, the spec does not say
            foreach (var send in c.Sends)
            {
                try
                {
                    RssProbes.Send(d, model, send, $"after the refused RSS_CONFIG ({why})");
                }
                catch (ConformanceViolationException e) when (e.Violation.RequirementId == Rule.NetRssDevQueueSelection)
                {
                    throw Expect.Violated(Rule.RobustRssRefusalKeepsConfig, $"the refused command changed the steering: {e.Violation.Message}");
                }
            }
        });
    }

    public sealed record ResetCase(RssConfig Config, bool HashReport, RssSend[] Sends)
    {
        public override string ToString() => $"RSS_CONFIG({Config}), device reset, re-initialised with the same features, then {string.Join("; ", Sends.Select(x => x.ToString()))}";
    }

    /// <summary>
    /// A reset forgets RSS and hashing (§5.1.9.5.6.2, §5.1.9.5.6.4): after it, before any multiqueue command, every packet
    /// lands on receiveq1 and reports no hash.
    /// </summary>
    public static Property ResetForgetsRss(SuiteContext ctx)
    {
        RequireOffer(ctx, FeatureBit.NetRss);
        var limits = Limits(ctx);
        var gen = from config in RssGenerators.Config(limits, Math.Min(limits.MaxPairs, Generators.TrafficPairs))
                  from hashReport in Offers(ctx, FeatureBit.NetHashReport) ? Gen.Elements(false, true) : Gen.Constant(false)
                  from sends in RssGenerators.Sends(1, 2, 6)
                      // A table that keeps everything off receiveq1 makes a remembered configuration show.
                  select new ResetCase(config with { HashTypes = limits.SupportedHashTypes, IndirectionTable = [.. config.IndirectionTable.Select(q => (ushort)Math.Max((int)q, config.MaxTxVq - 1))], UnclassifiedQueue = (ushort)(config.MaxTxVq - 1) },
                      hashReport, sends);
        return Prop.ForAll(Arb.From(gen), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            var features = RssProbes.Features(d, rss: true, c.HashReport);
            Probes.Initialize(d, features, c.Config.MaxTxVq);
            RssProbes.Configure(d, PairsRangeTests.Model(d), c.Config, limits);
            Probes.Reset(d);
            Probes.Initialize(d, features, c.Config.MaxTxVq);
            var model = PairsRangeTests.Model(d);
            foreach (var send in c.Sends)
            {
                var frame = send.Frame();
                var got = d.SendAndReceive(send.TxPair, frame, d.ResponseWait)
                    ?? throw Expect.Violated(Rule.NetTxDefSent, $"{send}: the frame never came back after the reset");
                Expect.That(got.Pair == 1, Rule.NetMqDevRxQ1AfterReset,
                    $"{send}: came back on receiveq{got.Pair} after the reset, before any VQ_PAIRS_SET or RSS_CONFIG: only receiveq1 may be used (the table set before the reset names receiveq{c.Config.MaxTxVq})");
                if (model.HashReportNegotiated) RssProbes.JudgeHash(model, frame, got, $"{send} after the reset");
            }
        });
    }

    public sealed record LastCommandCase(RssConfig Config, int Pairs, RssSend[] Sends)
    {
        public override string ToString() =>
            $"RSS_CONFIG({Config}) with every entry on receiveq{Config.MaxTxVq}, VQ_PAIRS_SET({Pairs}), then {string.Join("; ", Sends.Select(x => x.ToString()))}, then the RSS_CONFIG again and the same packets";
    }

    /// <summary>
    /// With MQ and RSS both negotiated the last multiqueue command decides (§5.1.9.5.5): VQ_PAIRS_SET after RSS_CONFIG hands
    /// steering back to automatic mode (nothing lands above the new pairs, where the table pointed), and RSS_CONFIG after it
    /// takes it back (every packet where the table says).
    /// </summary>
    public static Property LastCommandWins(SuiteContext ctx)
    {
        RequireOffer(ctx, FeatureBit.NetRss);
        if (!Offers(ctx, FeatureBit.NetMq)) Suite.NotApplicable($"{ctx.Device}: the device offers RSS without MQ: there is no second multiqueue mode");
        var limits = Limits(ctx);
        var top = Math.Min(limits.MaxPairs, Generators.TrafficPairs);
        if (top < 2) Suite.NotApplicable($"{ctx.Device}: one queue pair: the modes cannot be told apart");
        var gen = from config in RssGenerators.Config(limits, top).Where(c => c.MaxTxVq >= 2)
                  from pairs in Gen.Choose(1, config.MaxTxVq - 1)
                  from sends in RssGenerators.Sends(pairs, 2, 8)
                  select new LastCommandCase(config with { IndirectionTable = [.. config.IndirectionTable.Select(_ => (ushort)(config.MaxTxVq - 1))], UnclassifiedQueue = (ushort)(config.MaxTxVq - 1) }, pairs, sends);
        return Prop.ForAll(Arb.From(gen), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            Probes.Initialize(d, RssProbes.Features(d, rss: true, hashReport: false), c.Config.MaxTxVq);
            var model = RssProbes.Configure(d, PairsRangeTests.Model(d), c.Config, limits);
            model = Probes.PairsSet(d, model, c.Pairs, Rule.NetMqDefVqPairsSet);
            foreach (var send in c.Sends)
            {
                var got = d.SendAndReceive(send.TxPair, send.Frame(), d.ResponseWait)
                    ?? throw Expect.Violated(Rule.NetTxDefSent, $"{c}: {send}: the frame never came back after VQ_PAIRS_SET({c.Pairs})");
                Expect.That(got.Pair <= c.Pairs, Rule.NetMqDefLastCommandWins,
                    $"{c}: {send} came back on receiveq{got.Pair} after VQ_PAIRS_SET({c.Pairs}): the RSS table sent before it still steers (the last command decides the mode)");
            }
            model = RssProbes.Configure(d, model, c.Config, limits);
            foreach (var send in c.Sends)
            {
                try
                {
                    RssProbes.Send(d, model, send, $"RSS_CONFIG sent again after VQ_PAIRS_SET({c.Pairs})");
                }
                catch (ConformanceViolationException e) when (e.Violation.RequirementId == Rule.NetRssDevQueueSelection)
                {
                    throw Expect.Violated(Rule.NetMqDefLastCommandWins, $"{e.Violation.Message}: RSS_CONFIG after VQ_PAIRS_SET did not bring RSS back");
                }
            }
        });
    }

    public static readonly SuiteCheck Fields = new(nameof(RSS_and_hash_configuration_fields_are_in_range), ConfigFields,
        [Rule.NetCfgDevRssKeySize, Rule.NetCfgDevRssTableLen, Rule.NetHashDefTypes], [Plane.Control], 1);

    public static readonly SuiteCheck Steers = new(nameof(RSS_steers_every_packet_through_the_indirection_table), Steering,
        [Rule.NetRssDevQueueSelection, Rule.NetRssDefOffer, Rule.NetHashDevMustSupportCommand, Rule.NetHashReportDef, Rule.NetHashDefIpv4, Rule.NetHashDefIpv6, Rule.NetHashDefIpv6Ex, Rule.NetTxDefSent],
        [Plane.Control, Plane.Data], 40);

    public static readonly SuiteCheck Reports = new(nameof(Hash_reporting_follows_HASH_CONFIG), HashReporting,
        [Rule.NetHashDevConfigCommand, Rule.NetHashDefInitiallyDisabled, Rule.NetHashReportDef, Rule.NetHashDefIpv4, Rule.NetHashDefIpv6, Rule.NetHashDefIpv6Ex,
         Rule.NetTxDefSent], [Plane.Control, Plane.Data], 30);

    public static readonly SuiteCheck Refusals = new(nameof(Invalid_RSS_configurations_are_refused_and_change_nothing), InvalidConfigRefused,
        [Rule.RobustRssInvalidConfigRefused, Rule.RobustRssRefusalKeepsConfig, Rule.NetRssDefOffer, Rule.NetTxDefSent], [Plane.Control, Plane.Data], 24);

    public static readonly SuiteCheck Forgotten = new(nameof(Reset_forgets_RSS_and_hashing), ResetForgetsRss,
        [Rule.NetMqDevRxQ1AfterReset, Rule.NetHashDefInitiallyDisabled, Rule.NetRssDefOffer, Rule.NetHashDevMustSupportCommand, Rule.NetTxDefSent, Rule.NetHashReportDef,
         Rule.NetHashDefIpv4, Rule.NetHashDefIpv6, Rule.NetHashDefIpv6Ex], [Plane.Control, Plane.Data], 12);

    public static readonly SuiteCheck LastCommand = new(nameof(The_last_multiqueue_command_decides_the_mode), LastCommandWins,
        [Rule.NetMqDefLastCommandWins, Rule.NetMqDefVqPairsSet, Rule.NetRssDefOffer, Rule.NetTxDefSent, Rule.NetHashDefIpv6Ex, Rule.NetHashDefIpv4, Rule.NetHashDefIpv6],
        [Plane.Control, Plane.Data], 12);

    [Test, Check]
    public void The_last_multiqueue_command_decides_the_mode() => Suite.Verify(LastCommand);

    [Test, Check]
    public void RSS_and_hash_configuration_fields_are_in_range() => Suite.Verify(Fields);

    [Test, Check]
    public void RSS_steers_every_packet_through_the_indirection_table() => Suite.Verify(Steers);

    [Test, Check]
    public void Hash_reporting_follows_HASH_CONFIG() => Suite.Verify(Reports);

    [Test, Check]
    public void Invalid_RSS_configurations_are_refused_and_change_nothing() => Suite.Verify(Refusals);

    [Test, Check]
    public void Reset_forgets_RSS_and_hashing() => Suite.Verify(Forgotten);
}
