using System.Buffers.Binary;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>The channel over a socketpair: framing, fd passing, and what a broken peer looks like.</summary>
[TestFixture, NonParallelizable]
public sealed class ChannelTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private VhostUserChannel _front = null!;
    private VhostUserChannel _back = null!;

    [SetUp]
    public void Pair() => (_front, _back) = VhostUserChannel.CreatePair();

    [TearDown]
    public void Close()
    {
        _front.Dispose();
        _back.Dispose();
    }

    private static byte[] RawHeader(uint request, uint flags, uint size)
    {
        var bytes = new byte[VhostUserMessage.HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, request);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), size);
        return bytes;
    }

    [Test]
    public void Messages_with_0_1_3_and_8_fds_arrive_intact_and_in_order()
    {
        int[] counts = [0, 1, 3, 8];
        var memfds = counts.Select((n, m) => Enumerable.Range(0, n).Select(i => SharedMemoryRegion.CreateMemfd($"vu-order-{m}-{i}", 4096)).ToArray()).ToArray();
        try
        {
            var sent = counts.Select((n, m) => VhostUserMessage.NewRequest(
                (VhostUserRequest)(m + 1), Enumerable.Range(0, 10 + m).Select(b => (byte)(b ^ m)).ToArray(), memfds[m].Select(r => r.Fd).ToArray(), needReply: m % 2 == 1)).ToList();
            foreach (var m in sent) _front.Send(m);
            for (var m = 0; m < sent.Count; m++)
            {
                var got = _back.Receive(Second, $"message {m}");
                try
                {
                    Assert.Multiple(() =>
                    {
                        Assert.That(got.Request, Is.EqualTo(sent[m].Request));
                        Assert.That(got.Flags, Is.EqualTo(sent[m].Flags));
                        Assert.That(got.Payload, Is.EqualTo(sent[m].Payload));
                        Assert.That(got.Fds.Select(OpenFds.Target), Is.EqualTo(Enumerable.Range(0, counts[m]).Select(i => $"/memfd:vu-order-{m}-{i} (deleted)")));
                        Assert.That(got.Fds.Intersect(sent[m].Fds), Is.Empty, "the receiver holds its own copies");
                    });
                }
                finally
                {
                    got.CloseFds();
                }
            }
        }
        finally
        {
            foreach (var r in memfds.SelectMany(x => x)) r.Dispose();
        }
    }

    [Test]
    public void A_full_4096_byte_payload_arrives_and_a_bigger_one_is_not_sent()
    {
        var payload = Enumerable.Range(0, VhostUserMessage.MaxPayloadSize).Select(i => (byte)(i * 13)).ToArray();
        _front.Send(VhostUserMessage.NewRequest(VhostUserRequest.SetConfig, payload));
        Assert.That(_back.Receive(Second, "SET_CONFIG").Payload, Is.EqualTo(payload));
        Assert.Throws<ArgumentException>(() => _front.Send(VhostUserMessage.NewRequest(VhostUserRequest.SetConfig, new byte[VhostUserMessage.MaxPayloadSize + 1])));
    }

    [Test]
    public void A_memfd_passed_over_SCM_RIGHTS_is_shared_memory_on_both_sides()
    {
        const long size = 64 * 1024;
        using var guest = SharedMemoryRegion.CreateMemfd("vu-guest-ram", size);
        "written by the front-end"u8.CopyTo(guest.Span(4096, 24));
        var table = MemoryTable.Encode([new MemoryRegion(GuestAddress: 0x1_0000_0000, Size: size, UserAddress: 0x7f00_0000_0000, MmapOffset: 0)]);
        _front.Send(VhostUserMessage.NewRequest(VhostUserRequest.SetMemTable, table, [guest.Fd]));

        var got = _back.Receive(Second, "SET_MEM_TABLE");
        var region = Payload.ReadMemoryTable(got).Single();
        using var mapped = SharedMemoryRegion.MapFd(got.Fds.Single(), (long)region.Size, (long)region.MmapOffset);
        Assert.That(mapped.Span(4096, 24).ToArray(), Is.EqualTo("written by the front-end"u8.ToArray()));
        "written by the back-end!"u8.CopyTo(mapped.Span(8192, 24));
        Assert.That(guest.Span(8192, 24).ToArray(), Is.EqualTo("written by the back-end!"u8.ToArray()));
    }

    [Test]
    public void An_eventfd_passed_across_signals_the_other_copy()
    {
        using var kick = EventFd.Create();
        _front.Send(VhostUserMessage.NewRequest(VhostUserRequest.SetVringKick, new VringFd(3, NoFd: false).Encode(), [kick.Fd]));
        var got = _back.Receive(Second, "SET_VRING_KICK");
        Assert.That(Payload.ReadVringFd(got), Is.EqualTo(new VringFd(3, false)));
        using var backKick = EventFd.Adopt(got.Fds.Single());

        Assert.That(backKick.Wait(TimeSpan.FromMilliseconds(20)), Is.False);
        kick.Signal();
        kick.Signal();
        Assert.Multiple(() =>
        {
            Assert.That(backKick.Wait(Second), Is.True);
            Assert.That(backKick.Wait(TimeSpan.Zero), Is.True, "Wait does not consume");
            Assert.That(backKick.Drain(), Is.EqualTo(2UL));
            Assert.That(backKick.Drain(), Is.EqualTo(0UL));
            Assert.That(backKick.Wait(TimeSpan.FromMilliseconds(20)), Is.False);
        });
        backKick.Signal();
        Assert.That(kick.Drain(), Is.EqualTo(1UL), "the other direction works too");
    }

    [Test]
    public void A_hundred_round_trips_with_fds_leak_nothing()
    {
        void RoundTrips(int times)
        {
            var (a, b) = VhostUserChannel.CreatePair();
            using (a)
            using (b)
            {
                for (var i = 0; i < times; i++)
                {
                    using var call = EventFd.Create();
                    using var ram = SharedMemoryRegion.CreateMemfd("vu-leak", 4096);
                    a.Send(VhostUserMessage.NewRequest(VhostUserRequest.SetMemTable, MemoryTable.Encode([new MemoryRegion(0, 4096, 0, 0)]), [ram.Fd, call.Fd]));
                    var got = b.Receive(Second, "SET_MEM_TABLE");
                    b.Send(got.ReplyWith(Payload.U64(0), [got.Fds[1]]));
                    got.CloseFds();
                    a.Receive(Second, "reply").CloseFds();
                }
            }
        }
        RoundTrips(1); // first use loads libraries and may open files of the runtime's own
        var before = OpenFds.Count();
        RoundTrips(100);
        Assert.That(OpenFds.Count(), Is.EqualTo(before));
    }

    [Test]
    public void Receive_times_out_naming_what_it_waited_for()
    {
        var timeout = TimeSpan.FromMilliseconds(100);
        var e = Assert.Throws<TimeoutException>(() => _front.Receive(timeout, "GET_FEATURES reply"));
        Assert.That(e!.Message, Does.Contain("GET_FEATURES reply").And.Contain(timeout.ToString()));
        _back.Send(VhostUserMessage.NewRequest(VhostUserRequest.GetFeatures));
        Assert.That(_front.Receive(Second, "GET_FEATURES").Request, Is.EqualTo(VhostUserRequest.GetFeatures), "a clean timeout leaves the channel usable");
    }

    [Test]
    public void A_closed_peer_is_a_disconnect_on_receive_and_on_send()
    {
        _back.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(() => _front.Receive(Second, "GET_QUEUE_NUM reply"),
                Throws.TypeOf<VhostUserDisconnectedException>().With.Message.Contains("GET_QUEUE_NUM reply"));
            Assert.That(() => _front.Send(VhostUserMessage.NewRequest(VhostUserRequest.SetOwner)), Throws.TypeOf<VhostUserDisconnectedException>());
        });
    }

    [Test]
    public void Disposing_wakes_a_receive_blocked_on_another_thread()
    {
        var receiver = Task.Run(() => _front.Receive(TimeSpan.FromSeconds(5), "anything"));
        Thread.Sleep(50);
        _front.Dispose();
        Assert.That(() => receiver.Wait(Second), Throws.InnerException.TypeOf<VhostUserDisconnectedException>());
        Assert.Throws<ObjectDisposedException>(() => _front.Send(VhostUserMessage.NewRequest(VhostUserRequest.SetOwner)));
    }

    [Test]
    public void A_header_announcing_1_MiB_is_a_protocol_error_and_its_fd_is_closed()
    {
        using var ev = EventFd.Create();
        var before = OpenFds.Count();
        _back.SendRaw(RawHeader((uint)VhostUserRequest.SetConfig, 1, 1 << 20), [ev.Fd]);
        Assert.That(() => _front.Receive(Second, "SET_CONFIG"),
            Throws.TypeOf<VhostUserProtocolException>().With.Message.Contains("1048576-byte payload"));
        Assert.That(OpenFds.Count(), Is.EqualTo(before));
        Assert.That(() => _front.Receive(Second, "anything"),
            Throws.TypeOf<VhostUserProtocolException>().With.Message.Contains("out of step"), "the stream cannot be resynchronised");
    }

    [Test]
    public void A_header_with_version_2_is_a_protocol_error()
    {
        _back.SendRaw(RawHeader((uint)VhostUserRequest.GetFeatures, 2, 0), []);
        Assert.That(() => _front.Receive(Second, "GET_FEATURES"),
            Throws.TypeOf<VhostUserProtocolException>().With.Message.Contains("version 2"));
    }

    [Test]
    public void Nine_fds_from_a_raw_sender_are_refused_and_none_leak()
    {
        var evs = Enumerable.Range(0, 9).Select(_ => EventFd.Create()).ToArray();
        try
        {
            var before = OpenFds.Count();
            _back.SendRaw(RawHeader((uint)VhostUserRequest.SetMemTable, 1, 0), evs.Select(e => e.Fd).ToArray());
            Assert.That(() => _front.Receive(Second, "SET_MEM_TABLE"),
                Throws.TypeOf<VhostUserProtocolException>().With.Message.Contains("more than 8 fds"));
            Assert.That(OpenFds.Count(), Is.EqualTo(before));
        }
        finally
        {
            foreach (var e in evs) e.Dispose();
        }
    }

    [TestCase(6, TestName = "Torn header then close is a disconnect")]
    [TestCase(12 + 3, TestName = "Torn payload then close is a disconnect")]
    public void A_partial_message_then_close_is_a_disconnect(int bytesSent)
    {
        var whole = VhostUserMessage.NewRequest(VhostUserRequest.SetVringAddr, new VringAddress(0, 0, 1, 2, 3, 4).Encode()).Encode();
        _back.SendRaw(whole.AsSpan(0, bytesSent), []);
        _back.Dispose();
        Assert.That(() => _front.Receive(Second, "SET_VRING_ADDR"),
            Throws.TypeOf<VhostUserDisconnectedException>().With.Message.Contains("middle of a message"));
    }

    [Test]
    public void A_partial_message_that_never_completes_times_out_and_breaks_the_channel()
    {
        _back.SendRaw(RawHeader((uint)VhostUserRequest.SetVringNum, 1, 8).AsSpan(0, 12), []);
        Assert.That(() => _front.Receive(TimeSpan.FromMilliseconds(100), "SET_VRING_NUM"),
            Throws.TypeOf<TimeoutException>().With.Message.Contains("0 of 8 bytes of its payload"));
        Assert.That(() => _front.Receive(Second, "anything"), Throws.TypeOf<VhostUserProtocolException>());
    }
}
