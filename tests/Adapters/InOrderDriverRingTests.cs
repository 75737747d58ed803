using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Spec;
using VirtioMq.Tests.Reference;

namespace VirtioMq.Tests.Adapters;

/// <summary>
/// The suite's driver rings with VIRTIO_F_IN_ORDER (§2.7.9, §2.8.8). The device's side is written here by hand from the
/// spec, used element by used element, so the driver is judged against the text: descriptors laid out in ring order,
/// a batch returned by one used entry unpacked in order, and each way a device can break the batch layout named.
/// </summary>
[TestFixture]
public sealed class InOrderDriverRingTests
{
    private static readonly byte[] Packet = new byte[60];

    private sealed class Rig : IDisposable
    {
        public readonly SharedGuestMemory Memory = new();
        public readonly DriverVirtqueue Ring;

        public Rig(RingFormat format, int size)
        {
            var alloc = new GuestAllocator(SharedGuestMemory.Base, Memory.Size);
            Ring = DriverVirtqueue.Create(format, Memory.Driver, alloc, 1, size, eventIdx: false, inOrder: true);
        }

        // Split: the device writes element `at` and then used idx.
        public void Used(ushort at, uint id, uint len)
        {
            var elem = Ring.Registers.Used + 4 + 8UL * (ulong)(at % Ring.Size);
            Memory.Device.WriteU32(elem, id);
            Memory.Device.WriteU32(elem + 4, len);
        }

        public void UsedIdx(ushort idx) => Memory.Device.WriteU16Release(Ring.Registers.Used + 2, idx);

        // Packed: the device writes a used descriptor over slot `slot` in the lap whose wrap counter is `wrap`.
        public void UsedDescriptor(int slot, ushort id, uint len, bool wrap = true)
        {
            var d = Ring.Registers.Desc + 16UL * (ulong)slot;
            Memory.Device.WriteU16(d + PackedRing.IdOffset, id);
            Memory.Device.WriteU32(d + PackedRing.LenOffset, len);
            Memory.Device.WriteU16Release(d + PackedRing.FlagsOffset, PackedRing.UsedFlags(wrap));
        }

        public ushort Transmit(int descriptors = 1)
        {
            var parts = Enumerable.Range(0, descriptors).Select(_ => Packet[..(Packet.Length / descriptors)]).ToList();
            var id = Ring.Add(parts, [])!.Value;
            Ring.Publish();
            return id;
        }

        public void Dispose() => Memory.Dispose();
    }

    private static ushort Next(Rig r, ushort head) => r.Memory.Device.ReadU16(r.Ring.Registers.Desc + 16UL * head + 14);

    [Test]
    public void Split_descriptors_go_in_ring_order_with_next_pointing_at_the_following_slot()
    {
        using var r = new Rig(RingFormat.Split, 4);
        var a = r.Transmit();
        var b = r.Transmit();
        r.Used(0, b, 0);
        r.UsedIdx(2);
        while (r.Ring.TakeUsed() is not null) { }
        // Descriptors 2 and 3 are next, then 0: a two-descriptor chain from 3 wraps to 0 (§2.7.5.2).
        var c = r.Transmit();
        var d = r.Transmit(descriptors: 2);
        Assert.Multiple(() =>
        {
            Assert.That(new[] { a, b, c, d }, Is.EqualTo(new ushort[] { 0, 1, 2, 3 }));
            Assert.That(Next(r, 3), Is.Zero, "next of the table's last descriptor");
        });
    }

    [Test]
    public void Split_one_used_element_returns_the_batch_up_to_the_buffer_it_names()
    {
        using var r = new Rig(RingFormat.Split, 8);
        var heads = Enumerable.Range(0, 3).Select(_ => r.Transmit()).ToArray();
        var rx = r.Ring.Add([], [100, 100])!.Value;
        r.Ring.Publish();
        // One element at the batch's first offset, naming the last buffer; used idx moves by the batch (§2.7.9).
        r.Used(0, rx, 40);
        r.UsedIdx(4);
        var got = Enumerable.Range(0, 4).Select(_ => r.Ring.TakeUsed()!).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(got.Select(u => u.Head), Is.EqualTo(heads.Append(rx)));
            Assert.That(got.Select(u => u.InOrderSkipped), Is.EqualTo(new[] { true, true, true, false }));
            Assert.That(got[3].Length, Is.EqualTo(40u));
            Assert.That(r.Ring.TakeUsed(), Is.Null);
            Assert.That(r.Ring.Outstanding, Is.Zero);
        });
    }

    [Test]
    public void Split_a_buffer_returned_before_an_earlier_one_is_out_of_order()
    {
        using var r = new Rig(RingFormat.Split, 8);
        r.Transmit();
        var second = r.Transmit();
        r.Used(0, second, 0);
        r.UsedIdx(1);
        Assert.That(() => r.Ring.TakeUsed(), Throws.TypeOf<DeviceProtocolException>().With.Property(nameof(DeviceProtocolException.Breach)).EqualTo(Breach.InOrderUsedOutOfOrder));
    }

    [Test]
    public void Split_an_element_written_where_a_batch_is_skipped_is_caught()
    {
        using var r = new Rig(RingFormat.Split, 8);
        var first = r.Transmit();
        var second = r.Transmit();
        // Both returned, one element each, the later buffer first.
        r.Used(0, second, 0);
        r.Used(1, first, 0);
        r.UsedIdx(2);
        Assert.That(() => r.Ring.TakeUsed(), Throws.TypeOf<DeviceProtocolException>().With.Property(nameof(DeviceProtocolException.Breach)).EqualTo(Breach.InOrderUsedOutOfOrder));
    }

    [Test]
    public void Split_used_idx_past_an_element_never_written_is_a_misplaced_batch()
    {
        using var r = new Rig(RingFormat.Split, 8);
        var first = r.Transmit();
        r.Transmit();
        // The batch's element names its first buffer, but used idx moves by two.
        r.Used(0, first, 0);
        r.UsedIdx(2);
        Assert.That(r.Ring.TakeUsed()!.Head, Is.EqualTo(first));
        Assert.That(() => r.Ring.TakeUsed(), Throws.TypeOf<DeviceProtocolException>().With.Property(nameof(DeviceProtocolException.Breach)).EqualTo(Breach.InOrderBatchMisplaced));
    }

    [Test]
    public void Split_used_idx_past_every_buffer_held_is_a_misplaced_batch()
    {
        using var r = new Rig(RingFormat.Split, 8);
        var first = r.Transmit();
        r.Used(0, first, 0);
        r.UsedIdx(2);
        Assert.That(() => r.Ring.TakeUsed(), Throws.TypeOf<DeviceProtocolException>().With.Property(nameof(DeviceProtocolException.Breach)).EqualTo(Breach.InOrderBatchMisplaced));
    }

    [Test]
    public void Packed_one_used_descriptor_returns_the_batch_and_the_next_goes_past_all_its_slots()
    {
        using var r = new Rig(RingFormat.Packed, 8);
        var a = r.Transmit();
        var b = r.Transmit(descriptors: 2);
        var c = r.Transmit();
        // Over the batch's first slot, with the last buffer's ID (§2.8.8).
        r.UsedDescriptor(0, c, 0);
        var got = Enumerable.Range(0, 3).Select(_ => r.Ring.TakeUsed()!).ToArray();
        var d = r.Transmit();
        r.UsedDescriptor(4, d, 0);
        Assert.Multiple(() =>
        {
            Assert.That(got.Select(u => u.Head), Is.EqualTo(new[] { a, b, c }));
            Assert.That(got.Select(u => u.InOrderSkipped), Is.EqualTo(new[] { true, true, false }));
            Assert.That(r.Ring.DeviceUsedIdx, Is.EqualTo((ushort)4), "the used descriptor after the batch is found past its 4 slots");
            Assert.That(r.Ring.TakeUsed()!.Head, Is.EqualTo(d));
        });
    }

    [Test]
    public void Packed_a_used_descriptor_inside_a_batch_is_caught()
    {
        using var r = new Rig(RingFormat.Packed, 8);
        var a = r.Transmit();
        var b = r.Transmit();
        r.UsedDescriptor(0, b, 0);
        r.UsedDescriptor(1, a, 0);
        Assert.That(() => r.Ring.TakeUsed(), Throws.TypeOf<DeviceProtocolException>().With.Property(nameof(DeviceProtocolException.Breach)).EqualTo(Breach.InOrderUsedOutOfOrder));
    }
}
