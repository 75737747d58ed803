using VirtioMq.Adapters.Driver;
using VirtioMq.Reference.Net;
using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.Reference;

/// <summary>
/// The reference device with VIRTIO_F_RING_PACKED negotiated: the loopback data plane and the controlq run packed
/// rings. The driver's descriptors are written by hand here, as in <see cref="PackedVirtqueueTests"/>.
/// </summary>
[TestFixture]
public sealed class PackedDeviceTests
{
    private static readonly FeatureSet Packed = FeatureSet.Of(FeatureBit.Version1, FeatureBit.RingPacked);

    /// <summary>A packed ring the test drives from the driver's side, one buffer per slot.</summary>
    private sealed class HandRing(SharedGuestMemory memory, ulong at, int size)
    {
        public readonly QueueRegisters Registers = new(size, at, at + 16UL * (ulong)size, at + 16UL * (ulong)size + 4);
        public PackedPosition Next = PackedPosition.Start;
        public PackedPosition NextUsed = PackedPosition.Start;

        private ulong Slot(int i) => Registers.Desc + 16UL * (ulong)i;

        public void Offer(ushort id, ulong addr, uint len, ushort flags)
        {
            memory.Driver.WriteU64(Slot(Next.Offset), addr);
            memory.Driver.WriteU32(Slot(Next.Offset) + 8, len);
            memory.Driver.WriteU16(Slot(Next.Offset) + 12, id);
            memory.Driver.WriteU16Release(Slot(Next.Offset) + 14, (ushort)(flags | PackedRing.AvailFlags(Next.Wrap)));
            Next = Next.Advance(1, size);
        }

        /// <summary>The next used descriptor, or null when the device has not marked one yet.</summary>
        public (ushort Id, uint Len)? TakeUsed()
        {
            var d = Slot(NextUsed.Offset);
            if (!PackedRing.IsUsed(memory.Driver.ReadU16Acquire(d + 14), NextUsed.Wrap)) return null;
            NextUsed = NextUsed.Advance(1, size);
            return (memory.Driver.ReadU16(d + 12), memory.Driver.ReadU32(d + 8));
        }
    }

    private static byte[] TxPacket(ulong tag) => [.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(1, tag)];

    [Test]
    public void Frames_loop_back_over_packed_rings_of_5_entries_lap_after_lap_and_resume_at_the_base()
    {
        using var memory = new SharedGuestMemory();
        var rx = new HandRing(memory, SharedGuestMemory.Base + 0x1000, 5);
        var tx = new HandRing(memory, SharedGuestMemory.Base + 0x2000, 5);
        var notified = new List<int>();
        var plane = new LoopbackDataPlane(memory.Device, new ReferenceOptions(1), _ => { }) { TurnBudget = 2 };
        plane.UsedBufferNotification += notified.Add;
        plane.StartQueue(0, rx.Registers, Packed);
        plane.StartQueue(1, tx.Registers, Packed);
        plane.SetActivePairs(1, 1);
        var packetLength = (uint)TxPacket(0).Length;
        for (var tag = 1UL; tag <= 12; tag++)
        {
            if (tag == 7)
            {
                // Stopped and started again at the base it reported, as vhost-user's GET/SET_VRING_BASE do.
                var rxBase = plane.StopQueue(0)!.Value;
                var txBase = plane.StopQueue(1)!.Value;
                Assert.That(PackedVringBase.Decode(txBase), Is.EqualTo(new PackedVringBase(new PackedPosition(1, false), new PackedPosition(1, false))));
                plane.StartQueue(0, rx.Registers, Packed, rxBase);
                plane.StartQueue(1, tx.Registers, Packed, txBase);
            }
            var rxBuffer = SharedGuestMemory.Base + 0x10000 + 0x1000 * tag;
            rx.Offer((ushort)(200 + tag), rxBuffer, 2048, PackedRing.DescFWrite);
            var txBuffer = SharedGuestMemory.Base + 0x40000 + 0x1000 * tag;
            TxPacket(tag).CopyTo(memory.Driver.Span(txBuffer, (int)packetLength));
            tx.Offer((ushort)(100 + tag), txBuffer, packetLength, 0);
            notified.Clear();
            plane.Notify(1);
            Assert.Multiple(() =>
            {
                Assert.That(tx.TakeUsed(), Is.EqualTo(((ushort)(100 + tag), 0u)), $"frame {tag}: the transmit buffer, read only");
                Assert.That(rx.TakeUsed(), Is.EqualTo(((ushort)(200 + tag), packetLength)), $"frame {tag}: the receive buffer, with the packet");
                Assert.That(TestFrames.TagOf(memory.Driver.Span(rxBuffer + SplitRing.NetHeaderSize, TestFrames.Length)), Is.EqualTo(tag));
                Assert.That(notified, Is.EquivalentTo(new[] { 0, 1 }), $"frame {tag}: both rings notified");
            });
        }
    }

    [Test]
    public void The_controlq_runs_packed_and_the_device_offers_the_format()
    {
        using var memory = new SharedGuestMemory();
        var device = new VirtioNetDevice(new ReferenceOptions(2), memory.Device);
        Assert.That(device.DeviceFeatures.Has(FeatureBit.RingPacked), Is.True, "VIRTIO_F_RING_PACKED offered");
        var features = Packed.With(FeatureBit.NetCtrlVq).With(FeatureBit.NetMq);
        device.WriteStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver);
        device.WriteDriverFeatures(features);
        device.WriteStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk);
        Assert.That(device.Status & DeviceStatus.FeaturesOk, Is.EqualTo(DeviceStatus.FeaturesOk));
        // Three entries: no power of two, which only a packed ring allows.
        var ctrl = new HandRing(memory, SharedGuestMemory.Base + 0x1000, 3);
        device.ConfigureQueue(4, ctrl.Registers);
        device.WriteStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);
        for (var n = 0; n < 4; n++)
        {
            var pairs = (ushort)(n % 2 + 1);
            var command = SharedGuestMemory.Base + 0x8000 + 0x100UL * (ulong)n;
            memory.Driver.Span(command, 4).Clear();
            memory.Driver.Span(command, 4)[0] = NetControl.ClassMq;
            memory.Driver.Span(command, 4)[1] = NetControl.MqVqPairsSet;
            memory.Driver.WriteU16(command + 2, pairs);
            var ack = command + 0x80;
            memory.Driver.Span(ack, 1)[0] = 0xFF;
            // A two-descriptor list: the command (read), then the ack (written); the first one's flags last.
            var first = ctrl.Next;
            ctrl.Next = ctrl.Next.Advance(1, 3);
            ctrl.Offer((ushort)(10 + n), ack, 1, PackedRing.DescFWrite);
            var d = ctrl.Registers.Desc + 16UL * first.Offset;
            memory.Driver.WriteU64(d, command);
            memory.Driver.WriteU32(d + 8, 4);
            memory.Driver.WriteU16Release(d + 14, (ushort)(PackedRing.DescFNext | PackedRing.AvailFlags(first.Wrap)));
            device.Notify(4);
            Assert.That(ctrl.TakeUsed(), Is.EqualTo(((ushort)(10 + n), 1u)), $"command {n}: one used descriptor with the last descriptor's id, 1 byte written");
            ctrl.NextUsed = ctrl.NextUsed.Advance(1, 3);
            Assert.That((memory.Driver.Span(ack, 1)[0], device.CurrentPairs), Is.EqualTo(((byte)0, (int)pairs)), $"command {n}: VQ_PAIRS_SET({pairs}) acknowledged OK");
        }
    }
}
