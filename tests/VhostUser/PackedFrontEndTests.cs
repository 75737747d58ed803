using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Adapters.VhostUser;
using VirtioMq.Adapters.VhostUser.FrontEnd;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// The front-end with VIRTIO_F_RING_PACKED negotiated, against a scripted back-end on a socket pair: the feature goes on
/// to the back-end, SET_VRING_BASE and GET_VRING_BASE carry both halves of a packed ring base, a wrong reply is named as
/// the breach it is, and the controlq is served as a packed ring. Split rings keep the 16-bit index they always had.
/// </summary>
[TestFixture]
public sealed class PackedFrontEndTests
{
    private const ulong Base = 0x1_0000_0000;
    private const int RegionSize = 1 << 20;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private static readonly QueueRegisters Ring0 = new(8, Base + 0x1000, Base + 0x2000, Base + 0x2100);

    private SharedMemoryRegion _file = null!;
    private GuestMemory _memory = null!;
    private VhostUserChannel _back = null!;
    private VhostUserConnection _connection = null!;
    private VhostUserDataPlane _plane = null!;

    [SetUp]
    public void SetUp()
    {
        _file = SharedMemoryRegion.CreateMemfd("vu-packed-front", RegionSize);
        _memory = new GuestMemory();
        _memory.AddRegion(Base, _file);
        var (front, back) = VhostUserChannel.CreatePair();
        _back = back;
        _connection = new VhostUserConnection(front, "packed-test", TimeSpan.FromMilliseconds(300));
    }

    [TearDown]
    public void TearDown()
    {
        _plane?.Dispose();
        _plane = null!;
        _connection.Dispose();
        _back.Dispose();
        _file.Dispose();
    }

    private VhostUserDataPlane Plane(FeatureSet negotiated, ulong? queueNum = null)
    {
        _plane = new VhostUserDataPlane(_connection, _memory, new MemoryTableSource(_file, Base), negotiated) { QueueNum = queueNum };
        _plane.Negotiated = () => negotiated;
        return _plane;
    }

    private static FeatureSet Packed => FeatureSet.Of(FeatureBit.Version1, FeatureBit.RingPacked);
    private static FeatureSet Split => FeatureSet.Of(FeatureBit.Version1);

    private VhostUserMessage Next(VhostUserRequest expected)
    {
        var m = _back.Receive(Wait, expected.WireName());
        m.CloseFds();
        Assert.That(m.Request, Is.EqualTo(expected), $"the front-end sent {m} where {expected.WireName()} was due");
        return m;
    }

    private uint NextBase(int vq)
    {
        var state = Payload.ReadVringState(Next(VhostUserRequest.SetVringBase));
        Assert.That(state.Index, Is.EqualTo((uint)vq));
        return state.Num;
    }

    private void Started(FeatureSet features)
    {
        Assert.That(Payload.ReadU64(Next(VhostUserRequest.SetFeatures)), Is.EqualTo(features.Low64));
        Next(VhostUserRequest.SetMemTable);
    }

    private void RestOfRing()
    {
        Next(VhostUserRequest.SetVringAddr);
        Next(VhostUserRequest.SetVringKick);
        Next(VhostUserRequest.SetVringCall);
        Next(VhostUserRequest.SetVringErr);
    }

    private void AnswerBase(int vq, uint num) =>
        _back.Send(new VhostUserMessage(VhostUserRequest.GetVringBase, VhostUserFlags.Version1 | VhostUserFlags.Reply, new VringState((uint)vq, num).Encode(), []));

    [Test]
    public void A_packed_ring_starts_at_both_wrap_counters_1_with_its_areas_as_avail_and_used()
    {
        var plane = Plane(Packed);
        plane.StartQueue(0, Ring0);
        Started(Packed);
        Assert.That(Payload.ReadVringState(Next(VhostUserRequest.SetVringNum)).Num, Is.EqualTo(8u));
        Assert.That(NextBase(0), Is.EqualTo(0x8000_8000u), "offset 0 and wrap counter 1 in both halves (vu.packed.def.base-layout)");
        var address = VringAddress.Decode(Next(VhostUserRequest.SetVringAddr).Payload);
        var table = new MemoryTableSource(_file, Base);
        Assert.Multiple(() =>
        {
            Assert.That(address.Desc, Is.EqualTo(table.ToUser(Ring0.Desc)));
            Assert.That(address.Avail, Is.EqualTo(table.ToUser(Ring0.Avail)), "the driver area (driver event suppression)");
            Assert.That(address.Used, Is.EqualTo(table.ToUser(Ring0.Used)), "the device area (device event suppression)");
        });
    }

    [Test]
    public void A_packed_ring_starts_where_the_driver_announced_once()
    {
        var plane = Plane(Packed);
        var start = new PackedVringBase(new PackedPosition(5, false), new PackedPosition(3, true));
        ((IRingStartIndex)plane).StartAt(0, start.Encode());
        plane.StartQueue(0, Ring0);
        Started(Packed);
        Next(VhostUserRequest.SetVringNum);
        Assert.That(PackedVringBase.Decode(NextBase(0)), Is.EqualTo(start));
        RestOfRing();
        // Set up again (a queue enabled after its reset): the announcement was spent.
        AnswerBase(0, start.Encode());
        plane.StartQueue(0, Ring0);
        Next(VhostUserRequest.GetVringBase);
        Next(VhostUserRequest.SetVringNum);
        Assert.That(NextBase(0), Is.EqualTo(PackedVringBase.Start.Encode()));
    }

    [Test]
    public void GET_VRING_BASE_on_a_packed_ring_returns_both_halves_and_SET_VRING_BASE_sends_them_back()
    {
        var plane = Plane(Packed);
        plane.StartQueue(0, Ring0);
        Started(Packed);
        Next(VhostUserRequest.SetVringNum);
        NextBase(0);
        RestOfRing();
        var stopped = new PackedVringBase(new PackedPosition(3, false), new PackedPosition(1, false));
        AnswerBase(0, stopped.Encode());
        var suspension = (IRingSuspension)plane;
        Assert.That(suspension.StopBase(0), Is.EqualTo(stopped.Encode()));
        Next(VhostUserRequest.GetVringBase);
        suspension.ResumeBase(0, stopped.Encode(), restateEnable: false);
        Next(VhostUserRequest.SetVringNum);
        Assert.That(PackedVringBase.Decode(NextBase(0)), Is.EqualTo(stopped), "SET_VRING_BASE resumes both positions (vu.packed.set-base.both)");
    }

    [TestCase(0x8000_0008u, TestName = "A_packed_base_whose_avail_half_is_past_the_ring_breaches_reply_both")]
    [TestCase(0x0009_8000u, TestName = "A_packed_base_whose_used_half_is_past_the_ring_breaches_reply_both")]
    public void A_packed_base_past_the_ring_is_a_breach(uint reply)
    {
        var plane = Plane(Packed);
        plane.StartQueue(0, Ring0);
        AnswerBase(0, reply);
        var e = Assert.Throws<DeviceProtocolException>(() => plane.StopRing(0))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Breach, Is.EqualTo(Breach.PackedVringBaseOutsideRing));
            Assert.That(e.Message, Does.Contain($"0x{reply:x8}").And.Contain("size 8"));
        });
    }

    [Test]
    public void A_packed_base_with_nothing_in_its_used_half_is_passed_on_for_the_check_to_judge()
    {
        // DPDK's back-end answers the avail half alone; offset 0, wrap 0 is a place in the ring, so the plane returns it.
        var plane = Plane(Packed);
        plane.StartQueue(0, Ring0);
        AnswerBase(0, 0x0000_8003u);
        Assert.That(plane.StopRing(0), Is.EqualTo(0x0000_8003u));
    }

    [Test]
    public void No_reply_to_GET_VRING_BASE_on_a_packed_ring_is_its_own_breach()
    {
        var plane = Plane(Packed);
        plane.StartQueue(0, Ring0);
        var e = Assert.Throws<DeviceTimeoutException>(() => plane.StopRing(0))!;
        Assert.That(e.Breach, Is.EqualTo(Breach.PackedVringBaseReplyMissing));
    }

    [Test]
    public void The_16_bit_suspension_calls_refuse_a_packed_ring_before_sending_anything()
    {
        var plane = Plane(Packed);
        plane.StartQueue(0, Ring0);
        var sent = _connection.Sent.Count;
        var suspension = (IRingSuspension)plane;
        Assert.Multiple(() =>
        {
            Assert.That(() => suspension.Stop(0), Throws.InvalidOperationException.With.Message.Contains("StopBase"));
            Assert.That(() => suspension.Resume(0, 3), Throws.InvalidOperationException.With.Message.Contains("ResumeBase"));
            Assert.That(_connection.Sent, Has.Count.EqualTo(sent));
        });
    }

    [Test]
    public void A_refused_SET_VRING_BASE_inside_a_covered_packed_ring_breaches_set_base_both()
    {
        _connection.ProtocolFeatures = VhostUserProtocolFeature.Mask(VhostUserProtocolFeature.ReplyAck);
        var plane = Plane(Packed, queueNum: 1);
        foreach (var (request, status) in new[]
                 {
                     (VhostUserRequest.SetFeatures, 0UL), (VhostUserRequest.SetMemTable, 0UL), (VhostUserRequest.SetVringNum, 0UL),
                     (VhostUserRequest.SetVringBase, 1UL),
                 })
            _back.Send(new VhostUserMessage(request, VhostUserFlags.Version1 | VhostUserFlags.Reply, Payload.U64(status), []));
        var e = Assert.Throws<VhostUserRefusalException>(() => plane.StartQueue(0, Ring0))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Request, Is.EqualTo(VhostUserRequest.SetVringBase));
            Assert.That(e.Vring, Is.EqualTo(0));
            Assert.That(e.Breach, Is.EqualTo(Breach.PackedResumeBaseRefused));
        });
    }

    [Test]
    public void A_split_ring_keeps_its_16_bit_index()
    {
        var plane = Plane(Split);
        _memory.WriteU16(Ring0.Used + 2, 65530);
        plane.StartQueue(0, Ring0);
        Started(Split);
        Next(VhostUserRequest.SetVringNum);
        Assert.That(NextBase(0), Is.EqualTo(65530u), "a split ring starts at the used idx its driver wrote");
        RestOfRing();
        AnswerBase(0, 0x1234_0005u);
        Assert.That(((IRingSuspension)plane).Stop(0), Is.EqualTo((ushort)5), "the low 16 bits, as ever");
    }

    [Test]
    public void A_negotiated_packed_format_makes_the_front_end_serve_a_packed_controlq()
    {
        var offered = FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetCtrlVq, FeatureBit.NetMq, FeatureBit.RingPacked, FeatureBit.EventIdx);
        var plane = Plane(FeatureSet.Of(FeatureBit.Version1, FeatureBit.RingPacked));
        var model = new NetFrontEnd(1, 256, _memory, plane, offered);
        plane.Negotiated = () => model.Negotiated;
        var notified = 0;
        model.ControlqNotification += _ => notified++;
        model.WriteDriverFeatures(offered);
        model.WriteStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk);
        Assert.That(model.Status.HasFlag(DeviceStatus.FeaturesOk), Is.True, string.Join("; ", model.Log));
        var cvq = NetQueueLayout.For(model.Negotiated, 1).ControlqIndex!.Value;
        var ring = new QueueRegisters(4, Base + 0x4000, Base + 0x5000, Base + 0x5100);
        model.SetupQueue(cvq, ring);
        model.WriteStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);
        Assert.That(_memory.ReadU16(ring.Used + PackedRing.EventFlagsOffset), Is.EqualTo(PackedRing.EventFlagsDesc),
            "with EVENT_IDX the device area asks for the kick of the next slot");

        // VQ_PAIRS_SET(1) at slots 0 and 1, lap 1: the second descriptor first, then the first (§2.8.17).
        byte[] command = [NetControl.ClassMq, NetControl.MqVqPairsSet, 1, 0];
        command.CopyTo(_memory.Span(Base + 0x8000, command.Length));
        _memory.Span(Base + 0x8100, 1)[0] = 0xff;
        void Put(int slot, ulong address, uint length, ushort id, ushort flags)
        {
            var at = ring.Desc + (ulong)(PackedRing.DescriptorSize * slot);
            _memory.WriteU64(at + PackedRing.AddrOffset, address);
            _memory.WriteU32(at + PackedRing.LenOffset, length);
            _memory.WriteU16(at + PackedRing.IdOffset, id);
            _memory.WriteU16Release(at + PackedRing.FlagsOffset, (ushort)(flags | PackedRing.AvailFlags(true)));
        }
        Put(1, Base + 0x8100, 1, 3, PackedRing.DescFWrite);
        Put(0, Base + 0x8000, (uint)command.Length, 0, PackedRing.DescFNext);
        model.Notify(cvq);
        var flags = _memory.ReadU16(ring.Desc + PackedRing.FlagsOffset);
        Assert.Multiple(() =>
        {
            Assert.That(_memory.Span(Base + 0x8100, 1)[0], Is.EqualTo((byte)NetAck.Ok), string.Join("; ", model.Log));
            Assert.That(_memory.ReadU16(ring.Desc + PackedRing.IdOffset), Is.EqualTo(3));
            Assert.That(PackedRing.IsUsed(flags, true), Is.True, $"flags 0x{flags:x4}");
            Assert.That(notified, Is.EqualTo(1), "the driver area is zero: ENABLE");
            Assert.That(model.Log, Is.Empty);
        });
    }
}
