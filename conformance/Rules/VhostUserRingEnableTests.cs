using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Ring enable state, ring by ring (vhost-user "Ring states" and "Multiple queue support"): with
/// VHOST_USER_F_PROTOCOL_FEATURES a ring starts disabled, SET_VRING_ENABLE switches the one ring it names, and
/// a frame goes out of an enabled transmit ring into an enabled receive ring only. QEMU sends one enable per
/// ring, in any order; here each ring of pairs 2..P gets its own random history.
/// </summary>
[TestFixture, Category("vhost-user")]
public sealed class VhostUserRingEnableTests
{
    /// <summary>Pairs a session spreads its rings over: pair 1 and one pair per pair of histories, so all nine fit in one session.</summary>
    private const int Pairs = 10;

    public enum History { NeverEnabled, Enabled, EnabledThenDisabled }

    /// <summary>The rings of one session, vring 2 onwards (receiveq2, transmitq2, receiveq3, ...).</summary>
    public sealed record Case(History[] Rings)
    {
        public History Of(int vq) => Rings[vq - 2];
        public override string ToString() => string.Join(", ", Rings.Select((h, i) => $"vring {i + 2}: {h}"));
    }

    /// <summary>The histories of one pair's two rings: the variants of this check.</summary>
    public sealed record PairHistory(History Transmit, History Receive)
    {
        public override string ToString() => $"transmit ring {Transmit}, receive ring {Receive}";
    }

    private static readonly PairHistory[] AllPairHistories =
        [.. from tx in Variants.Of<History>() from rx in Variants.Of<History>() select new PairHistory(tx, rx)];

    /// <summary>
    /// Every pair of histories in every case, handed to pairs 2, 3, ... in a random order, so which pair gets which
    /// differs between cases (a bug that confuses one ring or pair with another shows on some neighbours only). A
    /// back-end with fewer pairs than needed gets the rest in further sessions.
    /// </summary>
    public static Arbitrary<EveryVariant<PairHistory>> HistoryCases { get; } = Arb.From(
        from keys in Gen.Choose(0, int.MaxValue).ArrayOf(AllPairHistories.Length)
        select new EveryVariant<PairHistory>([.. AllPairHistories.Zip(keys).OrderBy(x => x.Second).Select(x => x.First)]),
        // Pairs of one session share the back-end: an enable that lands on the wrong pair fails only with both present.
        c => Variants.ShrinkToOne(c.Cases, Shrink, shareADevice: true).Select(x => new EveryVariant<PairHistory>(x)));

    /// <summary>Towards fewer enable messages: the simplest failure is a ring that nothing enabled, yet carries traffic.</summary>
    private static IEnumerable<PairHistory> Shrink(PairHistory h)
    {
        if (h.Transmit != History.NeverEnabled) yield return h with { Transmit = History.NeverEnabled };
        if (h.Receive != History.NeverEnabled) yield return h with { Receive = History.NeverEnabled };
    }

    /// <summary>Sessions the check used to spend, at about two per case against a back-end of 8 pairs.</summary>
    public static int CaseCount { get; } = Variants.CasesFor(20, 2);

    public static Property EachRingHasItsOwnEnableState(SuiteContext ctx) =>
        Prop.ForAll(HistoryCases, c =>
        {
            var next = 0;
            while (next < c.Cases.Length)
            {
                using var s = ctx.Open(Pairs);
                var d = s.Driver;
                d.BeginNegotiation();
                if (Needs.Capability<IVhostUserBackEnd>(s, Needs.VhostUserBackEnd) is not { } backEnd) return;
                if (Needs.Capability<IRingEnable>(s, Needs.RingEnable) is not { } backend) return;
                // Without the protocol-features bit every ring is enabled for good: nothing here applies.
                if (d.MaxPairs < 2 || !backEnd.BackendFeatures.Has(FeatureBit.ProtocolFeatures))
                {
                    ThisCase.NotApplicable(d.MaxPairs < 2 ? "the back-end serves one pair" : "the back-end does not offer VHOST_USER_F_PROTOCOL_FEATURES: every ring is enabled for good");
                    return;
                }
                var group = c.Cases[next..Math.Min(c.Cases.Length, next + Math.Min(d.MaxPairs, Pairs) - 1)];
                next += group.Length;
                Session(d, backend, new Case([.. group.SelectMany(h => new[] { h.Receive, h.Transmit })]), group.Length + 1);
            }
        });

    /// <summary>One session: pairs 2..<paramref name="pairs"/> get the histories of <paramref name="c"/>, then a frame each.</summary>
    private static void Session(NetDriver d, IRingEnable backend, Case c, int pairs)
    {
        Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), pairs);
        // The device model enabled pair 1 at DRIVER_OK; the other rings get the case's history, enables first.
        var rings = Enumerable.Range(2, 2 * (pairs - 1)).ToList();
        foreach (var vq in rings.Where(vq => c.Of(vq) != History.NeverEnabled)) backend.SetEnabled(vq, true);
        foreach (var vq in rings.Where(vq => c.Of(vq) == History.EnabledThenDisabled)) backend.SetEnabled(vq, false);
        d.ClearReceived();
        var tags = Enumerable.Range(2, pairs - 1).ToDictionary(k => k, k => d.TransmitTagged(k, flow: k));
        bool On(int vq) => c.Of(vq) == History.Enabled;
        var owed = tags.Keys.Where(k => On(NetQueueLayout.Transmitq(k)) && On(NetQueueLayout.Receiveq(k))).ToList();
        var arrived = new Dictionary<int, int>();
        void Look()
        {
            foreach (var (k, tag) in tags)
                if (!arrived.ContainsKey(k) && d.Claim(tag) is { } hit) arrived[k] = hit.Pair;
        }
        d.TryWaitUntil(() => { Look(); return owed.All(arrived.ContainsKey); }, d.Options.Timeout);
        d.TryWaitUntil(() => { Look(); return false; }, d.Device.SettleTime);

        string Said(int vq) => c.Of(vq) switch
        {
            History.Enabled => "SET_VRING_ENABLE 1",
            History.EnabledThenDisabled => "SET_VRING_ENABLE 1 then 0",
            _ => "no SET_VRING_ENABLE",
        };
        ThisCase.Judged();
        // First the rings an enable message named: they must be in the state it set.
        foreach (var (k, rx) in arrived)
        {
            var tx = NetQueueLayout.Transmitq(k);
            var rxq = NetQueueLayout.Receiveq(rx);
            if (rx > 1 && c.Of(rxq) == History.EnabledThenDisabled)
                throw Expect.Violated(Rule.VuMqEnablePerRing, $"a frame from transmitq{k} landed on receiveq{rx} (vring {rxq}), which got {Said(rxq)}: the disable did not act on that ring");
            if (c.Of(tx) == History.EnabledThenDisabled)
                throw Expect.Violated(Rule.VuMqEnablePerRing, $"transmitq{k} (vring {tx}) got {Said(tx)}, yet its frame was forwarded to receiveq{rx}: the disable did not act on that ring");
        }
        foreach (var k in owed.Where(k => !arrived.ContainsKey(k)))
            throw Probes.Lost(d, k, Rule.VuMqEnablePerRing,
                $"transmitq{k} (vring {NetQueueLayout.Transmitq(k)}) and receiveq{k} (vring {NetQueueLayout.Receiveq(k)}) both got SET_VRING_ENABLE 1, yet a frame sent there never came back: the enables did not act on those rings");
        // Then the rings no message named: they are still in their initial, disabled state.
        foreach (var (k, rx) in arrived)
        {
            var rxq = NetQueueLayout.Receiveq(rx);
            if (rx > 1 && c.Of(rxq) == History.NeverEnabled)
                throw Expect.Violated(Rule.VuRingDisabledRxNoPackets, $"a frame from transmitq{k} landed on receiveq{rx} (vring {rxq}), which was never enabled ({Said(rxq)}); rings start disabled");
            var tx = NetQueueLayout.Transmitq(k);
            if (c.Of(tx) == History.NeverEnabled)
                throw Expect.Violated(Rule.VuRingDisabledTxDiscard, $"transmitq{k} (vring {tx}) was never enabled, yet its frame was forwarded to receiveq{rx}; rings start disabled");
        }
    }

    public static readonly SuiteCheck EnablePerRing = new(nameof(SET_VRING_ENABLE_switches_the_one_ring_it_names), EachRingHasItsOwnEnableState,
        [Rule.VuMqEnablePerRing, Rule.VuRingDisabledRxNoPackets, Rule.VuRingDisabledTxDiscard], [Plane.Data], CaseCount, vhostUserOnly: true);

    [Test, Check]
    public void SET_VRING_ENABLE_switches_the_one_ring_it_names() => Suite.Verify(EnablePerRing);
}
