using System.Diagnostics;
using VirtioMq.Adapters.Driver;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// A back-end session that finds a message and a kick pending at the same time must apply the message first:
/// the front-end wrote it before it filled and kicked the ring. DPDK virtio-user sends SET_VRING_ENABLE without
/// asking for a reply and transmits straight after; the reference used to drain the ring first, as if it were
/// still disabled, and discarded the frames. Here everything is written before the session reads anything, so
/// the order is certain, not a matter of timing.
/// </summary>
[TestFixture]
public sealed class MessageOrderTests
{
    private const ulong Base = 0x1_0000_0000;
    private const int RegionSize = 1 << 20;
    private const int QueueSize = 8;
    private const ulong ReceiveBuffer = Base + 0x30000;
    private const ulong TransmitBuffer = Base + 0x20000;

    [Test]
    public void SET_VRING_ENABLE_is_applied_before_a_kick_that_came_after_it()
    {
        var (frontEnd, back) = VhostUserChannel.CreatePair();
        using var front = frontEnd;
        using var file = SharedMemoryRegion.CreateMemfd("vu-order", RegionSize);
        var guest = new GuestMemory();
        guest.AddRegion(Base, file);
        var kicks = new[] { EventFd.Create(), EventFd.Create() };
        try
        {
            // No REPLY_ACK is negotiated, so nothing here waits for the back-end.
            Send(front, VhostUserRequest.SetFeatures, Payload.U64(FeatureSet.Of(FeatureBit.Version1, FeatureBit.ProtocolFeatures).Low64));
            Send(front, VhostUserRequest.SetMemTable, MemoryTable.Encode([new MemoryRegion(Base, RegionSize, Base, 0)]), file.Fd);
            for (var vq = 0; vq < 2; vq++)
            {
                Send(front, VhostUserRequest.SetVringNum, new VringState((uint)vq, QueueSize).Encode());
                Send(front, VhostUserRequest.SetVringBase, new VringState((uint)vq, 0).Encode());
                Send(front, VhostUserRequest.SetVringAddr, new VringAddress((uint)vq, 0, User(Desc(vq)), User(Used(vq)), User(Avail(vq)), 0).Encode());
                Send(front, VhostUserRequest.SetVringKick, new VringFd((byte)vq, false).Encode(), kicks[vq].Fd);
            }
            Send(front, VhostUserRequest.SetVringEnable, new VringState(0, 1).Encode());
            Post(guest, 0, ReceiveBuffer, 2048, SplitRing.DescFWrite);
            kicks[0].Signal();
            // What DPDK does: enable transmitq1, then at once put a frame on it and kick.
            Send(front, VhostUserRequest.SetVringEnable, new VringState(1, 1).Encode());
            var packet = new byte[SplitRing.NetHeaderSize + TestFrames.Length];
            TestFrames.Udp(1, 42).CopyTo(packet, SplitRing.NetHeaderSize);
            packet.CopyTo(guest.Span(TransmitBuffer, packet.Length));
            Post(guest, 1, TransmitBuffer, (uint)packet.Length, 0);
            kicks[1].Signal();

            var session = new BackendSession(back, new ReferenceOptions(1), _ => { });
            using var stop = new CancellationTokenSource();
            var thread = new Thread(() => session.Run(stop.Token)) { IsBackground = true, Name = "message-order back-end" };
            thread.Start();
            var clock = Stopwatch.StartNew();
            while (guest.ReadU16Acquire(Used(0) + 2) == 0 && clock.Elapsed < TimeSpan.FromSeconds(2)) Thread.Sleep(1);
            var received = guest.ReadU16Acquire(Used(0) + 2);
            stop.Cancel();
            Assert.That(thread.Join(TimeSpan.FromSeconds(5)), Is.True, "the session did not stop within 5 s of being cancelled");
            Assert.Multiple(() =>
            {
                Assert.That(received, Is.EqualTo(1), "frames received on receiveq1 within 2 s: the frame sent on transmitq1 was lost");
                Assert.That(session.Counters.FramesWhileDisabled(1), Is.Zero, "frames the back-end took from transmitq1 while it thought it disabled");
                Assert.That(session.Counters.Frames(1), Is.EqualTo(1), "frames taken from transmitq1");
            });
            session.Dispose();
        }
        finally
        {
            foreach (var k in kicks) k.Dispose();
        }
    }

    private static ulong Desc(int vq) => Base + 0x1000 + (ulong)vq * 0x4000;
    private static ulong Avail(int vq) => Desc(vq) + 0x1000;
    private static ulong Used(int vq) => Desc(vq) + 0x2000;
    // The memory table gives the region the same user address as guest address, so ring addresses need no translation.
    private static ulong User(ulong guest) => guest;

    private static void Send(VhostUserChannel c, VhostUserRequest request, byte[] payload, int? fd = null) =>
        c.Send(VhostUserMessage.NewRequest(request, payload, fd is { } f ? [f] : null));

    /// <summary>Descriptor 0 of the ring, made available as its first entry.</summary>
    private static void Post(GuestMemory guest, int vq, ulong address, uint length, ushort flags)
    {
        guest.WriteU64(Desc(vq), address);
        guest.WriteU32(Desc(vq) + 8, length);
        guest.WriteU16(Desc(vq) + 12, flags);
        guest.WriteU16(Desc(vq) + 14, 0);
        guest.WriteU16(Avail(vq) + 4, 0);
        guest.WriteU16Release(Avail(vq) + 2, 1);
    }
}
