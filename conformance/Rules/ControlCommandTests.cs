using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// The controlq as a channel (§5.1.9.5, §2.7.4): any descriptor layout of a command works, and a device keeps
/// its head when a command is unknown or malformed (robustness: the spec leaves the answer open).
/// </summary>
[TestFixture, Category("Control commands")]
public sealed class ControlCommandTests
{
    public sealed record FramingCase(int MaxPairs, int Pairs, CommandFraming Framing)
    {
        public override string ToString() => $"max_virtqueue_pairs={MaxPairs}, VQ_PAIRS_SET({Pairs}) framed {Framing}";
    }

    /// <summary>Every framing in every case, each with its own max_virtqueue_pairs and pair count.</summary>
    public static Arbitrary<EveryVariant<FramingCase>> FramingCases(SuiteContext ctx) => Variants.Each(Variants.Of<CommandFraming>(), f =>
        from m in Generators.MaxPairs(ctx)
        from n in Gen.Choose(1, Math.Min(m, Generators.TrafficPairs))
        select new FramingCase(m, n, f), c => Generators.ShrinkPairs(c.Pairs).Select(n => c with { Pairs = n }));

    /// <summary>The sub-cases the check used to spend on 100 cases of one framing each.</summary>
    public static int FramingCaseCount { get; } = Variants.CasesFor(100, Variants.Of<CommandFraming>().Length);

    public static Property AnyFramingIsAccepted(SuiteContext ctx)
    {
        return Variants.ForEach(FramingCases(ctx), c =>
        {
            using var s = ctx.Open(c.MaxPairs);
            var d = s.Driver;
            d.BeginNegotiation();
            if (!d.Offered.Has(FeatureBit.NetMq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_MQ"); return; }
            if (c.Framing == CommandFraming.Indirect && !d.Offered.Has(FeatureBit.IndirectDesc)) { ThisCase.NotApplicable("the device does not offer VIRTIO_F_INDIRECT_DESC"); return; }
            var n = Math.Min(c.Pairs, d.MaxPairs);
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), n);
            const string id = Rule.RingFramingDevNoLayoutAssumption;
            NetAck ack;
            try
            {
                ack = d.VqPairsSet(n, c.Framing);
            }
            catch (DeviceProtocolException e) when (e.RequirementId is null)
            {
                throw Expect.Violated(id, $"VQ_PAIRS_SET({n}) framed {c.Framing}: {e.Message}");
            }
            Expect.That(ack == NetAck.Ok, id, $"VQ_PAIRS_SET({n}) framed {c.Framing} was answered {ack}; the same command packed in one descriptor is valid");
        });
    }

    public sealed record UnknownCase(byte Class, byte Command)
    {
        public override string ToString() => $"class {Class} command {Command}";
    }

    /// <summary>Where an unknown command comes from: a class no spec version defines, or a command the MQ class lacks.</summary>
    public enum UnknownKind { UnknownClass, UnknownMqCommand }

    /// <summary>
    /// Classes 0-9 are defined by 1.4; class 4 (MQ) defines commands 0-2 only. Both kinds in every case, each with
    /// random numbers, so no seed leaves one out.
    /// </summary>
    public static Arbitrary<EveryVariant<UnknownCase>> UnknownCases { get; } = Variants.Each(Variants.Of<UnknownKind>(), k => k == UnknownKind.UnknownClass
        ? Gen.Choose(10, 255).SelectMany(cl => Gen.Choose(0, 255).Select(cmd => new UnknownCase((byte)cl, (byte)cmd)))
        : Gen.Choose(3, 255).Select(cmd => new UnknownCase(NetControl.ClassMq, (byte)cmd)));

    /// <summary>The sub-cases the check used to spend on 30 cases of one kind each.</summary>
    public static int UnknownCaseCount { get; } = Variants.CasesFor(30, Variants.Of<UnknownKind>().Length);

    public static Property UnknownCommandsAreRejected(SuiteContext ctx)
    {
        return Variants.ForEach(UnknownCases, c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            if (!d.Offered.Has(FeatureBit.NetCtrlVq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_CTRL_VQ"); return; }
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            var ack = d.SendCommand(c.Class, c.Command, [0, 0], what: c.ToString());
            Expect.That(ack == NetAck.Err, Rule.RobustCtrlUnknownCommandRejected, $"{c}, which no spec version defines, was answered {ack}");
        });
    }

    /// <remarks>
    /// Oversized: a VQ_PAIRS_SET(1) whose two data bytes are followed by 8 KiB more, over five descriptors; a device
    /// that reads commands into a bounded buffer must cut it short, not overrun the buffer. OK or ERR are both fine.
    /// </remarks>
    public enum Malformation { ClassOnly, ShortPairsSet, NoAckByte, EmptyReadable, Oversized }

    /// <summary>Every malformation in every case: they have no other inputs, so each case runs the five in turn.</summary>
    public static Arbitrary<EveryVariant<Malformation>> MalformedCases { get; } = Variants.Each(Variants.Of<Malformation>(), m => Gen.Constant(m));

    /// <summary>The sub-cases the check used to spend on 20 cases of one malformation each.</summary>
    public static int MalformedCaseCount { get; } = Variants.CasesFor(20, Variants.Of<Malformation>().Length);

    /// <remarks>
    /// The careful answers a device may give, each accepted below: VIRTIO_NET_ERR; no ack written (the ack byte keeps the
    /// driver's 0xFF) or no ack buffer to write it to, with the buffer returned used; DEVICE_NEEDS_RESET instead of
    /// returning it (QEMU, for a missing header or ack buffer); and for Oversized, which begins with a valid command,
    /// acting on it (OK). In each case a valid command afterwards must still be answered and a frame still cross.
    /// </remarks>
    public static Property MalformedCommandsLeaveTheDeviceWorking(SuiteContext ctx) =>
        Variants.ForEach(MalformedCases, bad =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            if (!d.Offered.Has(FeatureBit.NetCtrlVq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_CTRL_VQ"); return; }
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            var cvq = d.Layout.ControlqIndex!.Value;
            IReadOnlyList<byte[]> readable = bad switch
            {
                Malformation.ClassOnly => [[NetControl.ClassMq]],
                Malformation.ShortPairsSet => [[NetControl.ClassMq, NetControl.MqVqPairsSet, 1]],
                Malformation.NoAckByte => [[NetControl.ClassMq, NetControl.MqVqPairsSet, 1, 0]],
                Malformation.Oversized => [[NetControl.ClassMq, NetControl.MqVqPairsSet, 1, 0], .. Enumerable.Range(0, 4).Select(_ => new byte[2048])],
                _ => [],
            };
            var ack = d.TrySendRawOn(cvq, readable, ackBytes: bad == Malformation.NoAckByte ? 0 : 1, indirect: false, d.Device.SettleTime);
            // An oversized VQ_PAIRS_SET still begins with a valid virtqueue_pairs: acting on it (as QEMU does) is as
            // careful as refusing it; what it must not do is overrun the device or stop the controlq.
            Expect.That(bad == Malformation.Oversized || ack is null or (byte)NetAck.Err or 0xFF, Rule.RobustCtrlMalformedSurvives, $"a malformed command ({bad}) was answered OK");
            // Refused, it still comes back used: a device that keeps such buffers runs the controlq out of descriptors.
            // Giving up with DEVICE_NEEDS_RESET, as QEMU does for a missing ack buffer, is careful too.
            if (ack is null && (d.Device.ReadStatus() & DeviceStatus.DeviceNeedsReset) != 0) { ThisCase.Judged(); return; }
            Expect.That(ack is not null, Rule.RobustCtrlMalformedSurvives, $"a malformed command ({bad}) never came back used, and the device did not set DEVICE_NEEDS_RESET");
            var model = PairsRangeTests.Model(d);
            try
            {
                // The answer a healthy controlq gives: OK with MQ negotiated, ERR without (then VQ_PAIRS_SET is not a command it has).
                var (_, expected) = model.VqPairsSet(1);
                var got = d.VqPairsSet(1);
                Expect.That(got == expected, Rule.RobustCtrlMalformedSurvives, $"after a malformed command ({bad}) VQ_PAIRS_SET(1) was answered {got}, not {expected}");
            }
            catch (DeviceProtocolException e) when (e.RequirementId is null)
            {
                throw Expect.Violated(Rule.RobustCtrlMalformedSurvives, $"after a malformed command ({bad}) the controlq stopped answering: {e.Message}");
            }
            Probes.Loopback(d, model, 1, 0, Rule.RobustCtrlMalformedSurvives, Rule.NetVqDefLayout);
        });

    public static Property PairsSetWithoutMqIsRejected(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Gen.Choose(1, 8)), n =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            if (!d.Offered.Has(FeatureBit.NetCtrlVq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_CTRL_VQ"); return; }
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered).Without(FeatureBit.NetMq).Without(FeatureBit.NetRss), 1);
            var model = PairsRangeTests.Model(d);
            Probes.PairsSet(d, model, n, Rule.RobustMqPairsSetWithoutMqRejected);
        });

    public static readonly SuiteCheck AnyLayout = new(nameof(VQ_PAIRS_SET_works_in_any_descriptor_layout), AnyFramingIsAccepted,
        [Rule.RingFramingDevNoLayoutAssumption], [Plane.Control], FramingCaseCount);

    public static readonly SuiteCheck UnknownRejected = new(nameof(Unknown_commands_are_answered_ERR), UnknownCommandsAreRejected,
        [Rule.RobustCtrlUnknownCommandRejected], [Plane.Control], UnknownCaseCount);

    public static readonly SuiteCheck MalformedSurvived = new(nameof(Malformed_commands_leave_the_controlq_working), MalformedCommandsLeaveTheDeviceWorking,
        [Rule.RobustCtrlMalformedSurvives], [Plane.Control], MalformedCaseCount);

    public static readonly SuiteCheck PairsSetWithoutMq = new(nameof(VQ_PAIRS_SET_without_MQ_is_answered_ERR), PairsSetWithoutMqIsRejected,
        [Rule.RobustMqPairsSetWithoutMqRejected], [Plane.Control], 10);

    [Test, Check]
    public void VQ_PAIRS_SET_works_in_any_descriptor_layout() => Suite.Verify(AnyLayout);

    [Test, Check, Category("Robustness")]
    public void Unknown_commands_are_answered_ERR() => Suite.Verify(UnknownRejected);

    [Test, Check, Category("Robustness")]
    public void Malformed_commands_leave_the_controlq_working() => Suite.Verify(MalformedSurvived);

    [Test, Check, Category("Robustness")]
    public void VQ_PAIRS_SET_without_MQ_is_answered_ERR() => Suite.Verify(PairsSetWithoutMq);
}
