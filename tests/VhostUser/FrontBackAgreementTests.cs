using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Adapters.InProcess;
using VirtioMq.Adapters.VhostUser;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// Differential properties: the same driver scenario is run against the in-process reference device
/// (<c>reference://?pairs=M</c>) and against the suite's vhost-user front-end talking to the reference back-end
/// (<c>vhost-user:///sock?pairs=M</c>, the back-end started with M pairs). The two must observe the same thing.
/// The in-process device is the oracle only in that it is the simplest path to the same loopback data plane;
/// any difference is a bug in the front-end, the back-end, or the split between them.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class FrontBackAgreementTests
{
    private const int MemoryMib = 16;
    private const int SettleMs = 20;
    private static readonly TimeSpan DefaultPatience = TimeSpan.FromSeconds(2);

    /// <summary>Largest ring the devices take; both build their model from the same defaults.</summary>
    private static readonly int QueueMaxSize = new ReferenceOptions().QueueMaxSize;

    private BackendFixture _backends = null!;

    [OneTimeSetUp]
    public void StartBackends() => _backends = new BackendFixture();

    [OneTimeTearDown]
    public void StopBackends() => _backends.Dispose();

    // ---------------------------------------------------------------- properties

    /// <summary>
    /// Random max pairs, ring sizes, VQ_PAIRS_SET values and control framings, and random (transmitq, flow)
    /// frames: each frame comes back on the same receiveq (or on none) and each command gets the same ack.
    /// </summary>
    [Test]
    public void Steering_and_acks_agree_for_random_ring_sizes_and_queue_counts()
    {
        var tally = new Tally();
        Prop.ForAll(Arb.From(SteeringScripts, ShrinkOps), s => Differential(_backends, s, probe: false, tally)).Check(Config(50));
        tally.AssertNotVacuous();
    }

    /// <summary>
    /// Random splits of a frame over 1..4 readable descriptors (direct or indirect) and random receive buffers of
    /// 1..3 writable segments: what comes back is the frame, unchanged, behind a header with num_buffers 1, and the
    /// used length is header + frame; over vhost-user exactly as in-process.
    /// </summary>
    [Test]
    public void Buffer_chains_loop_back_byte_for_byte_on_both_devices() =>
        Prop.ForAll(Arb.From(ChainScripts, ShrinkChains), s => ChainsAgree(_backends, s)).Check(Config(50));

    /// <summary>
    /// Short random sequences of reset, re-initialisation, VQ_PAIRS_SET and transmit: same observations on both,
    /// where after every step a frame on each transmitq also shows which pairs the device treats as enabled.
    /// </summary>
    [Test]
    public void Reset_reinit_pairs_and_transmit_sequences_agree()
    {
        var tally = new Tally();
        Prop.ForAll(Arb.From(LifecycleScripts, ShrinkOps), s => Differential(_backends, s, probe: true, tally)).Check(Config(50));
        tally.AssertNotVacuous();
    }

    /// <summary>
    /// The properties' own power: with a data-plane bug switched on in the back-end only, the lifecycle property
    /// must find a disagreement (a property that passes against a broken back-end would prove nothing).
    /// </summary>
    [TestCase(DeviceFault.RxOnDisabled)]
    [TestCase(DeviceFault.SwapRxTx)]
    [TestCase(DeviceFault.SteerAllToQ1)]
    [TestCase(DeviceFault.ResetKeepsPairs)]
    [TestCase(DeviceFault.TxHeaderOwnDescriptor)]
    public void A_back_end_fault_makes_the_devices_disagree(DeviceFault fault)
    {
        using var broken = new BackendFixture(new HashSet<DeviceFault> { fault });
        // A broken back-end may leave the driver waiting (swap-rx-tx never frees a transmit descriptor), so be brief.
        var scripts = LifecycleScripts.Select(s => s with { Rings = s.Rings with { Patience = TimeSpan.FromMilliseconds(200) } });
        var property = Prop.ForAll(Arb.From(scripts), s => Differential(broken, s, probe: true, tally: null));
        Assert.That(() => property.Check(Config(100)), Throws.Exception.With.Message.Contains("disagree"));
    }

    private static FsCheck.Config Config(int cases) => FsCheck.Config.QuickThrowOnFailure.WithMaxTest(cases);

    /// <summary>What the in-process side saw over a whole run, so a property cannot pass by observing nothing.</summary>
    private sealed class Tally
    {
        private readonly Dictionary<string, int> _counts = [];

        private static readonly (string Pattern, string Label)[] Kinds =
        [
            ("received on", "frames received"), ("not received", "frames not received"), ("ack Ok", "acks OK"), ("ack Err", "acks ERR"),
            ("threw", "driver errors"), (@"\d+->\d+", "probe frames received"), (@"\d+->-", "probe frames not received"),
        ];

        public void Add(IEnumerable<string> observations)
        {
            foreach (var o in observations)
                foreach (var (pattern, label) in Kinds)
                    _counts[label] = _counts.GetValueOrDefault(label) + Regex.Count(o, pattern);
        }

        public void AssertNotVacuous()
        {
            TestContext.Out.WriteLine("in-process side saw: " + string.Join(", ", _counts.Where(kv => kv.Value > 0).Select(kv => $"{kv.Value} {kv.Key}")));
            Assert.That(_counts.GetValueOrDefault("frames received"), Is.GreaterThan(0), "no frame ever came back");
            Assert.That(_counts.GetValueOrDefault("acks OK"), Is.GreaterThan(0), "no VQ_PAIRS_SET was ever accepted");
        }
    }

    // ---------------------------------------------------------------- scenarios

    /// <summary>How the driver sizes its rings and posts receive buffers, and how many pairs the device has.</summary>
    public sealed record Rings(int MaxPairs, int QueueSize, int SmallQueueSize, int RoomyPairs, int RxBuffers)
    {
        /// <summary>How long the driver and the front-end wait for anything before giving up.</summary>
        public TimeSpan Patience { get; init; } = DefaultPatience;

        public DriverOptions Options => new()
        {
            Timeout = Patience,
            QueueSize = QueueSize,
            SmallQueueSize = SmallQueueSize,
            RoomyPairs = RoomyPairs,
            ReceiveBuffersPerQueue = RxBuffers,
        };

        public override string ToString() =>
            $"max pairs {MaxPairs}; ring size {QueueSize} for the controlq and pairs 1..{RoomyPairs}, {SmallQueueSize} beyond; {RxBuffers} rx buffer(s) per queue";
    }

    public abstract record Op;

    public sealed record PairsSet(int N, CommandFraming Framing) : Op
    {
        public override string ToString() => $"VQ_PAIRS_SET({N}, {Framing})";
    }

    public sealed record Send(int TxPair, int Flow) : Op
    {
        public override string ToString() => $"send(tx {TxPair}, flow {Flow})";
    }

    public sealed record Reset : Op
    {
        public override string ToString() => "reset";
    }

    public sealed record Init(int? Pairs) : Op
    {
        public override string ToString() => Pairs is { } p ? $"init({p} pairs)" : "init";
    }

    public sealed record Script(Rings Rings, IReadOnlyList<Op> Ops)
    {
        public override string ToString() => $"{Rings}\n    ops: {string.Join("; ", Ops)}";
    }

    /// <summary>One frame: how its packet (header + frame) is cut into readable descriptors, and the receive buffer waiting for it.</summary>
    public sealed record Chain(int TxPair, int FrameLength, int Seed, int[] TxSplit, bool TxIndirect, int[] RxSplit, bool RxIndirect)
    {
        public int PacketLength => SplitRing.NetHeaderSize + FrameLength;
        public bool Fits => RxSplit.Sum() >= PacketLength;

        public byte[] Frame()
        {
            var f = new byte[FrameLength];
            new Random(Seed).NextBytes(f);
            return f;
        }

        public override string ToString() =>
            $"tx {TxPair}: {FrameLength}-byte frame (seed {Seed}) in [{string.Join(",", TxSplit)}]{(TxIndirect ? " indirect" : "")}"
            + $" -> rx buffer [{string.Join(",", RxSplit)}]{(RxIndirect ? " indirect" : "")}{(Fits ? "" : " (too small)")}";
    }

    public sealed record ChainScript(int MaxPairs, int QueueSize, IReadOnlyList<Chain> Chains)
    {
        public Rings Rings => new(MaxPairs, QueueSize, QueueSize, RoomyPairs: MaxPairs, RxBuffers: 0);

        public override string ToString() => $"max pairs {MaxPairs}; ring size {QueueSize}\n    " + string.Join("\n    ", Chains);
    }

    // ---------------------------------------------------------------- generators

    private static Gen<int> PowerOfTwoUpTo(int max) => Gen.Choose(0, BitOperations.Log2((uint)max)).Select(e => 1 << e);

    /// <summary>Max pairs 1..8, mostly small, so that random sends often hit the pairs a VQ_PAIRS_SET left enabled.</summary>
    private static readonly Gen<int> MaxPairsGen = Gen.Frequency((1, Gen.Constant(1)), (3, Gen.Choose(2, 4)), (2, Gen.Choose(5, 8)));

    private static readonly Gen<Rings> RingsGen =
        from m in MaxPairsGen
        from q in PowerOfTwoUpTo(QueueMaxSize)
        from small in PowerOfTwoUpTo(QueueMaxSize)
        from roomy in Gen.Choose(1, 8)
        from rx in Gen.Choose(1, 8)
        select new Rings(m, q, small, roomy, rx);

    /// <summary>Descriptors VQ_PAIRS_SET takes in each framing (2 data bytes, the ack buffer); the controlq must hold them.</summary>
    private static int DescriptorsFor(CommandFraming f) => f switch
    {
        CommandFraming.Indirect => 1,
        CommandFraming.OneReadable or CommandFraming.RoomyAck => 2,
        CommandFraming.HeaderDataAck => 3,
        CommandFraming.Scattered => 5,
        _ => throw new ArgumentOutOfRangeException(nameof(f)),
    };

    private static Gen<CommandFraming> FramingFor(Rings r) =>
        Gen.Elements(Enum.GetValues<CommandFraming>().Where(f => DescriptorsFor(f) <= Math.Min(r.QueueSize, QueueMaxSize)).ToArray());

    /// <summary>Mostly 1..max, sometimes 0 or max+1, which both must refuse with the same ERR.</summary>
    private static Gen<Op> PairsSetGen(Rings r, bool inRange) =>
        from n in inRange ? Gen.Choose(1, r.MaxPairs)
            : Gen.Frequency((8, Gen.Choose(1, r.MaxPairs)), (1, Gen.Constant(0)), (1, Gen.Constant(r.MaxPairs + 1)))
        from framing in FramingFor(r)
        select (Op)new PairsSet(n, framing);

    private static Gen<Op> SendGen(Rings r) =>
        from tx in Gen.Choose(1, r.MaxPairs)
        from flow in Gen.Choose(0, 5)
        select (Op)new Send(tx, flow);

    private static Gen<Op> InitGen(Rings r) =>
        Gen.Frequency((2, Gen.Constant<int?>(null)), (1, Gen.Choose(1, r.MaxPairs).Select(p => (int?)p))).Select(p => (Op)new Init(p));

    private static readonly Gen<Script> SteeringScripts =
        from r in RingsGen
        from first in PairsSetGen(r, inRange: true)
        from count in Gen.Choose(1, 12)
        from rest in Gen.Frequency((6, SendGen(r)), (1, PairsSetGen(r, inRange: false))).ArrayOf(count)
        select new Script(r, [new Init(null), first, .. rest]);

    private static readonly Gen<Script> LifecycleScripts =
        from r in RingsGen
        from first in Gen.Frequency((4, InitGen(r)), (1, Gen.Constant<Op>(new Reset())), (1, SendGen(r)))
        from count in Gen.Choose(3, 7)
        from rest in Gen.Frequency((1, Gen.Constant<Op>(new Reset())), (2, InitGen(r)), (2, PairsSetGen(r, inRange: false)), (3, SendGen(r)))
            .ArrayOf(count)
        select new Script(r, [first, .. rest]);

    /// <summary>Cuts <paramref name="total"/> bytes into <paramref name="parts"/> pieces of 1..<paramref name="max"/>, small pieces favoured.</summary>
    private static Gen<int[]> Split(int total, int parts, int max)
    {
        if (parts == 1) return Gen.Constant(new[] { total });
        int lo = Math.Max(1, total - max * (parts - 1)), hi = Math.Min(max, total - (parts - 1));
        return from first in Gen.Frequency((1, Gen.Choose(lo, Math.Min(hi, lo + 15))), (2, Gen.Choose(lo, hi)))
               from rest in Split(total - first, parts - 1, max)
               select new[] { first }.Concat(rest).ToArray();
    }

    private static int SlotsFor(int bytes) => (bytes + GuestAllocator.SlotSize - 1) / GuestAllocator.SlotSize;

    private static Gen<Chain> ChainGen(int maxPairs, int queueSize)
    {
        const int slot = GuestAllocator.SlotSize;
        return
            from packet in Gen.Frequency((2, Gen.Choose(13, 80)), (3, Gen.Choose(81, 1526)), (1, Gen.Choose(1527, 3 * slot)))
            from k in Gen.Choose(SlotsFor(packet), 4)
            from txSplit in Split(packet, k, slot)
            from fits in Gen.Frequency((7, Gen.Constant(true)), (1, Gen.Constant(false)))
            from m in Gen.Choose(fits ? SlotsFor(packet) : 1, 3)
            from total in fits
                ? Gen.Frequency((3, Gen.Constant(packet)), (2, Gen.Choose(packet, Math.Min(m * slot, packet + 64))), (1, Gen.Choose(packet, m * slot)))
                : Gen.Choose(m, Math.Min(packet - 1, m * slot))
            from rxSplit in Split(total, m, slot)
            from txIndirect in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
            from rxIndirect in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
            from tx in Gen.Choose(1, maxPairs)
            from seed in Gen.Choose(0, int.MaxValue)
                // A chain longer than the ring can only go in as an indirect table (§2.7.5.3.1).
            select new Chain(tx, packet - SplitRing.NetHeaderSize, seed, txSplit, txIndirect || k > queueSize, rxSplit, rxIndirect || m > queueSize);
    }

    private static readonly Gen<ChainScript> ChainScripts =
        from m in Gen.Choose(1, 4)
        from q in PowerOfTwoUpTo(QueueMaxSize)
        from count in Gen.Choose(1, 4)
        from chains in ChainGen(m, q).ArrayOf(count)
        select new ChainScript(m, q, chains);

    private static IEnumerable<Script> ShrinkOps(Script s) =>
        Enumerable.Range(0, s.Ops.Count).Select(i => s with { Ops = s.Ops.Where((_, j) => j != i).ToList() });

    private static IEnumerable<ChainScript> ShrinkChains(ChainScript s) =>
        s.Chains.Count <= 1 ? [] : Enumerable.Range(0, s.Chains.Count).Select(i => s with { Chains = s.Chains.Where((_, j) => j != i).ToList() });

    // ---------------------------------------------------------------- running both sides

    private static void Differential(BackendFixture backends, Script script, bool probe, Tally? tally)
    {
        backends.ClearLog();
        using var local = Rig.InProcess(script.Rings);
        using var remote = Rig.OverVhostUser(backends.SocketFor(script.Rings.MaxPairs), script.Rings);
        var a = RunOps(local, script, probe);
        var b = RunOps(remote, script, probe);
        tally?.Add(a);
        if (!a.SequenceEqual(b))
            throw new AgreementException(Report(backends, "the in-process reference and vhost-user disagree", script,
                script.Ops.Select(o => o.ToString()).Append("(afterwards)"), a, b, local, remote, []));
    }

    private static List<string> RunOps(Rig rig, Script script, bool probe) =>
        [.. script.Ops.Select(op => probe ? $"{rig.Apply(op)}; {rig.Probe()}" : rig.Apply(op)), rig.Leftovers()];

    private static void ChainsAgree(BackendFixture backends, ChainScript script)
    {
        backends.ClearLog();
        using var local = Rig.InProcess(script.Rings);
        using var remote = Rig.OverVhostUser(backends.SocketFor(script.MaxPairs), script.Rings);
        var violations = new List<string>();
        var a = RunChains(local, script, violations);
        var b = RunChains(remote, script, violations);
        if (!a.SequenceEqual(b) || violations.Count > 0)
            throw new AgreementException(Report(backends, violations.Count > 0 ? "a looped-back buffer is wrong" : "the in-process reference and vhost-user disagree",
                script, ["init + VQ_PAIRS_SET", .. script.Chains.Select(c => c.ToString())], a, b, local, remote, violations));
    }

    private static List<string> RunChains(Rig rig, ChainScript script, List<string> violations)
    {
        var seen = new List<string> { rig.Apply(new Init(null)) + "; " + rig.Apply(new PairsSet(script.MaxPairs, script.QueueSize >= 2 ? CommandFraming.OneReadable : CommandFraming.Indirect)) };
        foreach (var c in script.Chains) seen.Add(rig.Loop(c, violations));
        return seen;
    }

    private static string Report(BackendFixture backends, string headline, object scenario, IEnumerable<string> steps, List<string> a, List<string> b, Rig local, Rig remote, List<string> violations)
    {
        var s = new StringBuilder();
        s.AppendLine(headline);
        s.AppendLine($"scenario: {scenario}");
        var names = steps.ToList();
        for (var i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            var x = i < a.Count ? a[i] : "(none)";
            var y = i < b.Count ? b[i] : "(none)";
            s.AppendLine($"{(x == y ? " " : "*")} {i,2} {(i < names.Count ? names[i] : "?")}");
            s.AppendLine($"        in-process: {x}");
            s.AppendLine($"        vhost-user: {y}");
        }
        foreach (var v in violations) s.AppendLine($"violation: {v}");
        foreach (var rig in new[] { local, remote })
        {
            foreach (var n in rig.Notes) s.AppendLine($"{rig.Name} driver: {n}");
            foreach (var l in rig.DeviceLog.TakeLast(20)) s.AppendLine($"{rig.Name} device: {l}");
        }
        foreach (var l in backends.LogTail(30)) s.AppendLine(l);
        return s.ToString();
    }

    private sealed class AgreementException(string message) : Exception(message);

    /// <summary>A device and the suite's driver on it, plus what it takes to know the device has caught up.</summary>
    private sealed class Rig : IDisposable
    {
        private readonly IVirtioDevice _device;
        private readonly VhostUserDevice? _vhost;

        private Rig(string name, IVirtioDevice device, DriverOptions options)
        {
            Name = name;
            _device = device;
            _vhost = device as VhostUserDevice;
            Driver = new NetDriver(device, options);
            if (device.QueueMaxSize != QueueMaxSize)
                throw new InvalidOperationException($"{name}: QueueMaxSize {device.QueueMaxSize}, expected {QueueMaxSize}");
        }

        public static Rig InProcess(Rings r) =>
            new("in-process", new InProcessReferenceDevice(DeviceUri.Parse($"reference://?pairs={r.MaxPairs}&memory-mib={MemoryMib}")), r.Options);

        public static Rig OverVhostUser(string socket, Rings r) =>
            new("vhost-user", new VhostUserDevice(DeviceUri.Parse(
                $"vhost-user://{socket}?pairs={r.MaxPairs}&memory-mib={MemoryMib}&settle-ms={SettleMs}&timeout-ms={(int)r.Patience.TotalMilliseconds}&connect-timeout={(int)DefaultPatience.TotalMilliseconds}")),
                r.Options);

        public string Name { get; }
        public NetDriver Driver { get; }
        public List<string> Notes { get; } = [];

        public IReadOnlyList<string> DeviceLog => _device switch
        {
            InProcessReferenceDevice d => d.DeviceLog,
            VhostUserDevice v => v.ModelLog,
            _ => [],
        };

        /// <summary>
        /// Returns once the device has handled every kick sent so far. In-process that is already true: the device
        /// works inside Kick. The back-end serves a pending message first and then the kicks found with it, and a
        /// kick written before a request is readable by the time the request is; so after two request-reply round
        /// trips (GET_FEATURES, which changes nothing) every frame kicked before the first has been looped back.
        /// </summary>
        private void Sync()
        {
            _vhost?.Connection.CallU64(VhostUserRequest.GetFeatures);
            _vhost?.Connection.CallU64(VhostUserRequest.GetFeatures);
        }

        /// <summary>The extra wait for anything that was not there after <see cref="Sync"/>: none in-process.</summary>
        private TimeSpan Settle => _vhost is null ? TimeSpan.Zero : TimeSpan.FromMilliseconds(SettleMs);

        /// <summary>Runs one step and says what was observed, device status included; driver-side errors are observations too.</summary>
        public string Apply(Op op)
        {
            try
            {
                var seen = op switch
                {
                    PairsSet p => $"ack {Driver.VqPairsSet(p.N, p.Framing)}",
                    Send s => Locate(s),
                    Reset => DoReset(),
                    Init i => DoInit(i),
                    _ => throw new ArgumentOutOfRangeException(nameof(op)),
                };
                return $"{seen}; status {Driver.Device.ReadStatus()}";
            }
            catch (Exception e) when (e is DeviceProtocolException or InvalidOperationException)
            {
                // The message may name timeouts that differ by device; the type is what is compared.
                Notes.Add($"{op}: {e.GetType().Name}: {e.Message}");
                return $"threw {e.GetType().Name}; status {Driver.Device.ReadStatus()}";
            }
        }

        private string Locate(Send s)
        {
            var tag = Driver.TransmitTagged(s.TxPair, s.Flow);
            Sync();
            var hit = Driver.Claim(tag);
            if (hit is null) return "not received";
            return $"received on rx {hit.Pair}, used length {hit.UsedLength}, num_buffers {NumBuffers(hit.Header)}";
        }

        /// <summary>
        /// Where a frame sent on each set-up transmitq comes back, so every step shows which pairs the device
        /// treats as enabled. Each pair has its own flow, which no script uses, so the probe steers nothing else.
        /// </summary>
        public string Probe()
        {
            if (!Driver.IsLive || Driver.ConfiguredPairs == 0) return "probe: not live";
            try
            {
                var tags = Enumerable.Range(1, Driver.ConfiguredPairs).Select(p => (Pair: p, Tag: Driver.TransmitTagged(p, ProbeFlow + p))).ToList();
                Sync();
                return "probe: " + string.Join(" ", tags.Select(t => $"{t.Pair}->{Driver.Claim(t.Tag)?.Pair.ToString() ?? "-"}"));
            }
            catch (Exception e) when (e is DeviceProtocolException or InvalidOperationException)
            {
                Notes.Add($"probe: {e.GetType().Name}: {e.Message}");
                return $"probe threw {e.GetType().Name}";
            }
        }

        private const int ProbeFlow = 1000;

        private string DoReset()
        {
            Driver.Reset();
            return "reset";
        }

        private string DoInit(Init i)
        {
            Driver.Initialize(pairs: i.Pairs);
            return $"negotiated {Driver.Negotiated}, max pairs {Driver.MaxPairs}, {Driver.ConfiguredPairs} pair(s) set up";
        }

        /// <summary>Frames that turned up after the step that sent them was observed (late, or never claimed).</summary>
        public string Leftovers()
        {
            Sync();
            Thread.Sleep(Settle);
            Driver.CollectReceived();
            return Driver.Received.Count == 0 ? "nothing else arrived"
                : "also arrived: " + string.Join(", ", Driver.Received.Select(r => $"tag {TestFrames.TagOf(r.Frame)?.ToString() ?? "?"} on rx {r.Pair}"));
        }

        /// <summary>
        /// Posts the chain's receive buffer on its pair's receiveq and its packet on the transmitq, then reports every
        /// used buffer that came back; <paramref name="violations"/> gets what breaks the loopback contract.
        /// </summary>
        public string Loop(Chain c, List<string> violations)
        {
            var frame = c.Frame();
            var packet = new byte[c.PacketLength];
            frame.CopyTo(packet, SplitRing.NetHeaderSize);
            var segments = new List<byte[]>();
            var at = 0;
            foreach (var n in c.TxSplit)
            {
                segments.Add(packet[at..(at + n)]);
                at += n;
            }

            var rxq = Driver.Queue(NetQueueLayout.Receiveq(c.TxPair));
            var txq = Driver.Queue(NetQueueLayout.Transmitq(c.TxPair));
            if (rxq.Add([], c.RxSplit, tag: "rx", indirect: c.RxIndirect) is null) return "no room on the receiveq";
            Driver.PublishAndKick(rxq);
            if (txq.Add(segments, [], tag: "tx", indirect: c.TxIndirect) is null) return "no room on the transmitq";
            Driver.PublishAndKick(txq);
            Sync();

            UsedBuffer? tx = null;
            var rx = new List<UsedBuffer>();
            Driver.TryWaitUntil(() => (tx ??= txq.TakeUsed()) is not null, Settle);
            Driver.TryWaitUntil(() =>
            {
                for (var p = 1; p <= Driver.ConfiguredPairs; p++)
                    while (Driver.Queue(NetQueueLayout.Receiveq(p)).TakeUsed() is { } u) rx.Add(u);
                return rx.Count > 0;
            }, Settle);

            var seen = new StringBuilder(tx is null ? "transmit buffer never used" : $"transmit buffer used with length {tx.Length}");
            foreach (var u in rx)
                seen.Append($"; rx {u.Queue / 2 + 1} used length {u.Length}, header {Convert.ToHexString(u.Written.AsSpan(0, Math.Min(u.Written.Length, SplitRing.NetHeaderSize)))}, "
                    + (u.Written.Length < SplitRing.NetHeaderSize ? "no frame" : Compare(frame, u.Written[SplitRing.NetHeaderSize..])));

            void Violation(string what) => violations.Add($"{Name}, {c}: {what}");
            if (tx is null) Violation("the transmit buffer was never used");
            else if (tx.Length != 0) Violation($"the transmit buffer came back with used length {tx.Length}; the device only reads it, so 0");
            if (!c.Fits) return seen.ToString(); // only agreement is asked of a buffer too small for the packet
            if (rx.Count != 1) Violation($"{rx.Count} receive buffers were used, expected 1");
            foreach (var u in rx)
            {
                if (u.Queue != rxq.Index) Violation($"the frame came back on vq {u.Queue}, expected receiveq{c.TxPair} (vq {rxq.Index})");
                if (u.Length != c.PacketLength) Violation($"used length {u.Length}, expected header + frame = {c.PacketLength}");
                if (u.Written.Length < SplitRing.NetHeaderSize) continue;
                if (NumBuffers(u.Written) != 1) Violation($"num_buffers {NumBuffers(u.Written)}, expected 1");
                if (!u.Written.AsSpan(SplitRing.NetHeaderSize).SequenceEqual(frame)) Violation($"frame bytes: {Compare(frame, u.Written[SplitRing.NetHeaderSize..])}");
            }
            return seen.ToString();
        }

        private static string Compare(byte[] sent, byte[] got)
        {
            var n = Math.Min(sent.Length, got.Length);
            for (var i = 0; i < n; i++)
                if (sent[i] != got[i]) return $"frame differs from the one sent at byte {i}";
            return sent.Length == got.Length ? "frame as sent" : $"frame of {got.Length} bytes, {sent.Length} sent (common prefix equal)";
        }

        public void Dispose() => _device.Dispose();
    }

    /// <summary>num_buffers, the last field of the 12-byte virtio-net header (§5.1.6).</summary>
    private static int NumBuffers(byte[] header) =>
        header.Length >= SplitRing.NetHeaderSize ? BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(10)) : -1;
}
