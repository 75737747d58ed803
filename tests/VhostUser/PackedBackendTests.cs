using System.Diagnostics;
using VirtioMq.Adapters.Driver;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// The reference back-end with VIRTIO_F_RING_PACKED negotiated, driven over a real socket by a front-end written here
/// message by message, its packed descriptors by hand: sizes that are no power of two, SET_VRING_BASE with both halves
/// or the avail half alone, and GET_VRING_BASE answering both (vu.packed.*).
/// </summary>
[TestFixture, NonParallelizable]
public sealed class PackedBackendTests
{
    private const ulong G = 0x1_0000_0000;
    private const long RegionBytes = 1 << 20;
    private const int Size = 6;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(3);

    private RunningBackend _backend = null!;
    private VhostUserChannel _c = null!;
    private SharedMemoryRegion _file = null!;
    private readonly List<EventFd> _fds = [];
    private readonly EventFd?[] _kicks = new EventFd?[2];
    private readonly PackedPosition[] _next = [PackedPosition.Start, PackedPosition.Start];
    private readonly PackedPosition[] _used = [PackedPosition.Start, PackedPosition.Start];
    private GuestMemory Mem { get; set; } = null!;

    private static ulong Desc(int vq) => G + 0x1000 + 0x1000UL * (ulong)vq;
    private static ulong DriverArea(int vq) => G + 0x100 + 0x10UL * (ulong)vq;
    private static ulong DeviceArea(int vq) => G + 0x200 + 0x10UL * (ulong)vq;
    private ulong User(ulong guest) => (ulong)_file.Address + (guest - G);

    [SetUp]
    public void Connect()
    {
        _backend = new RunningBackend(RunningBackend.NewSocketPath("packed"), new ReferenceOptions(MaxPairs: 1));
        _c = VhostUserChannel.Connect(_backend.SocketPath, Wait);
        _file = SharedMemoryRegion.CreateMemfd("vu-packed-guest", RegionBytes);
        Mem = new GuestMemory();
        Mem.AddRegion(G, _file);
        Assert.That(Call(VhostUserRequest.GetFeatures) & 1UL << (int)FeatureBit.RingPacked, Is.Not.Zero, "VIRTIO_F_RING_PACKED offered");
        _c.Send(VhostUserMessage.NewRequest(VhostUserRequest.SetProtocolFeatures, Payload.U64(1UL << VhostUserProtocolFeature.ReplyAck)));
        Assert.That(Ack(VhostUserRequest.SetOwner, []), Is.Zero);
        var features = FeatureSet.Of(FeatureBit.Version1, FeatureBit.RingPacked, FeatureBit.ProtocolFeatures).Low64;
        Assert.That(Ack(VhostUserRequest.SetFeatures, Payload.U64(features)), Is.Zero, "SET_FEATURES");
        Assert.That(Ack(VhostUserRequest.SetMemTable, MemoryTable.Encode([new MemoryRegion(G, RegionBytes, (ulong)_file.Address, 0)]), [_file.Fd]), Is.Zero);
    }

    [TearDown]
    public void Disconnect()
    {
        _c.Dispose();
        foreach (var fd in _fds) fd.Dispose();
        _fds.Clear();
        _backend.Dispose();
        TestContext.Out.WriteLine("back-end log:\n  " + string.Join("\n  ", _backend.LogLines));
        _file.Dispose();
    }

    private ulong Call(VhostUserRequest request)
    {
        _c.Send(VhostUserMessage.NewRequest(request));
        return Payload.ReadU64(Reply(request));
    }

    private VhostUserMessage Reply(VhostUserRequest request)
    {
        var reply = _c.Receive(Wait, $"the reply to {request.WireName()}");
        reply.CloseFds();
        Assert.That((reply.IsReply, reply.Request), Is.EqualTo((true, request)));
        return reply;
    }

    private ulong Ack(VhostUserRequest request, byte[] payload, int[]? fds = null)
    {
        _c.Send(VhostUserMessage.NewRequest(request, payload, fds, needReply: true));
        return Payload.ReadU64(Reply(request));
    }

    private uint GetBase(int vq)
    {
        _c.Send(VhostUserMessage.NewRequest(VhostUserRequest.GetVringBase, new VringState((uint)vq, 0).Encode()));
        return Payload.ReadVringState(Reply(VhostUserRequest.GetVringBase)).Num;
    }

    /// <summary>SET_VRING_NUM/BASE/ADDR/CALL/KICK/ENABLE, as a front-end starting a ring; the driver side goes on from <paramref name="at"/>.</summary>
    private void StartRing(int vq, uint vringBase, PackedVringBase at)
    {
        Assert.That(Ack(VhostUserRequest.SetVringNum, new VringState((uint)vq, Size).Encode()), Is.Zero, "SET_VRING_NUM of 6, no power of two");
        Assert.That(Ack(VhostUserRequest.SetVringBase, new VringState((uint)vq, vringBase).Encode()), Is.Zero, "SET_VRING_BASE");
        Assert.That(Ack(VhostUserRequest.SetVringAddr,
            new VringAddress((uint)vq, 0, User(Desc(vq)), User(DeviceArea(vq)), User(DriverArea(vq)), 0).Encode()), Is.Zero, "SET_VRING_ADDR");
        var call = EventFd.Create();
        _fds.Add(call);
        Assert.That(Ack(VhostUserRequest.SetVringCall, new VringFd((byte)vq, false).Encode(), [call.Fd]), Is.Zero);
        var kick = EventFd.Create();
        _fds.Add(kick);
        _kicks[vq] = kick;
        Assert.That(Ack(VhostUserRequest.SetVringKick, new VringFd((byte)vq, false).Encode(), [kick.Fd]), Is.Zero);
        Assert.That(Ack(VhostUserRequest.SetVringEnable, new VringState((uint)vq, 1).Encode()), Is.Zero);
        _next[vq] = at.Avail;
        _used[vq] = at.Used;
    }

    private void Offer(int vq, ushort id, ulong addr, uint len, ushort flags)
    {
        var d = Desc(vq) + 16UL * _next[vq].Offset;
        Mem.WriteU64(d, addr);
        Mem.WriteU32(d + 8, len);
        Mem.WriteU16(d + 12, id);
        Mem.WriteU16Release(d + 14, (ushort)(flags | PackedRing.AvailFlags(_next[vq].Wrap)));
        _next[vq] = _next[vq].Advance(1, Size);
    }

    private (ushort Id, uint Len) WaitUsed(int vq)
    {
        var d = Desc(vq) + 16UL * _used[vq].Offset;
        var clock = Stopwatch.StartNew();
        while (!PackedRing.IsUsed(Mem.ReadU16Acquire(d + 14), _used[vq].Wrap) && clock.Elapsed < Wait) Thread.Sleep(1);
        Assert.That(PackedRing.IsUsed(Mem.ReadU16Acquire(d + 14), _used[vq].Wrap), Is.True,
            $"vring {vq}: no used descriptor at {_used[vq]}; back-end log:\n  {string.Join("\n  ", _backend.LogLines)}");
        _used[vq] = _used[vq].Advance(1, Size);
        return (Mem.ReadU16(d + 12), Mem.ReadU32(d + 8));
    }

    private void LoopFrame(ulong tag)
    {
        var packet = (byte[])[.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(1, tag)];
        var rxBuffer = G + 0x10000 + 0x1000 * (tag % 16);
        var txBuffer = G + 0x40000 + 0x1000 * (tag % 16);
        Offer(0, (ushort)(200 + tag), rxBuffer, 2048, PackedRing.DescFWrite);
        _kicks[0]!.Signal();
        packet.CopyTo(Mem.Span(txBuffer, packet.Length));
        Offer(1, (ushort)(100 + tag), txBuffer, (uint)packet.Length, 0);
        _kicks[1]!.Signal();
        Assert.That(WaitUsed(1), Is.EqualTo(((ushort)(100 + tag), 0u)), $"frame {tag}: the transmit buffer");
        Assert.That(WaitUsed(0), Is.EqualTo(((ushort)(200 + tag), (uint)packet.Length)), $"frame {tag}: the receive buffer");
        Assert.That(TestFrames.TagOf(Mem.Span(rxBuffer + SplitRing.NetHeaderSize, TestFrames.Length)), Is.EqualTo(tag));
    }

    [Test]
    public void Frames_loop_back_and_GET_VRING_BASE_answers_both_positions_where_SET_VRING_BASE_resumes()
    {
        // QEMU sends both halves for a fresh ring (0x80008000); DPDK's virtio-user the avail half alone (0x8000).
        StartRing(0, PackedVringBase.Start.Encode(), PackedVringBase.Start);
        StartRing(1, 0x8000, PackedVringBase.Start);
        for (var tag = 1UL; tag <= 7; tag++) LoopFrame(tag);

        var txBase = GetBase(1);
        var rxBase = GetBase(0);
        var expected = new PackedVringBase(new PackedPosition(1, false), new PackedPosition(1, false));
        Assert.That((PackedVringBase.Decode(txBase), PackedVringBase.Decode(rxBase)), Is.EqualTo((expected, expected)),
            "seven buffers on a 6-entry ring: slot 1 of the second lap, on both sides (vu.packed.get-base.reply-both)");

        StartRing(0, rxBase, expected);
        StartRing(1, txBase, expected);
        for (var tag = 8UL; tag <= 14; tag++) LoopFrame(tag);
        Assert.That(PackedVringBase.Decode(GetBase(1)), Is.EqualTo(new PackedVringBase(new PackedPosition(2, true), new PackedPosition(2, true))));
    }

    [Test]
    public void A_base_in_the_middle_of_either_lap_resumes_there()
    {
        var at = new PackedVringBase(new PackedPosition(3, true), new PackedPosition(3, true));
        StartRing(0, at.Encode(), at);
        StartRing(1, new PackedVringBase(new PackedPosition(5, false), new PackedPosition(5, false)).Encode(),
            new PackedVringBase(new PackedPosition(5, false), new PackedPosition(5, false)));
        LoopFrame(1);
        LoopFrame(2);
        Assert.That(PackedVringBase.Decode(GetBase(0)), Is.EqualTo(new PackedVringBase(new PackedPosition(5, true), new PackedPosition(5, true))));
        Assert.That(PackedVringBase.Decode(GetBase(1)), Is.EqualTo(new PackedVringBase(new PackedPosition(1, true), new PackedPosition(1, true))));
    }

    [TestCase(6u, "names a slot outside the 6-entry packed ring")]
    [TestCase(0x8000_0007u, "names a slot outside")]
    [TestCase(0x0007_8000u, "names a slot outside")]
    public void A_base_naming_a_slot_outside_the_ring_is_refused(uint value, string reason)
    {
        Assert.That(Ack(VhostUserRequest.SetVringNum, new VringState(0, Size).Encode()), Is.Zero);
        Assert.That(Ack(VhostUserRequest.SetVringBase, new VringState(0, value).Encode()), Is.Not.Zero, "REPLY_ACK of the refused SET_VRING_BASE");
        Assert.That(_backend.LogLines.Any(l => l.Contains(reason, StringComparison.Ordinal)), Is.True, string.Join("\n", _backend.LogLines));
    }

    [TestCase(0u)]
    [TestCase(32769u)]
    public void A_packed_size_outside_1_to_32768_is_refused(uint size)
    {
        Assert.That(Ack(VhostUserRequest.SetVringNum, new VringState(0, size).Encode()), Is.Not.Zero);
        Assert.That(_backend.LogLines.Any(l => l.Contains($"size {size} is not from 1 to 32768 (packed ring)", StringComparison.Ordinal)), Is.True,
            string.Join("\n", _backend.LogLines));
    }
}
