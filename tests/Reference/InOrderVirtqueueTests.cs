using VirtioMq.Adapters.Driver;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Reference;

/// <summary>
/// The reference's rings with VIRTIO_F_IN_ORDER (§2.7.9, §2.8.8): what a burst used is returned as batches, one used
/// entry each, carrying the batch's last buffer and placed where its first was made available; a buffer the device did
/// not use whole (a receive buffer the frame did not fill, a refused chain) ends its batch, since the driver takes the
/// buffers a batch skips as wholly used. Read from the ring memory, as a driver would.
/// </summary>
[TestFixture]
public sealed class InOrderVirtqueueTests
{
    private static readonly FeatureSet InOrder = FeatureSet.Of(FeatureBit.Version1, FeatureBit.InOrder);

    private sealed class Rig : IDisposable
    {
        public readonly SharedGuestMemory Memory = new();
        public readonly DriverVirtqueue Driver;
        public readonly IDeviceVirtqueue Device;

        public Rig(RingFormat format, int size = 8)
        {
            var alloc = new GuestAllocator(SharedGuestMemory.Base, Memory.Size);
            Driver = DriverVirtqueue.Create(format, Memory.Driver, alloc, 1, size, eventIdx: false, inOrder: true);
            var negotiated = format == RingFormat.Packed ? InOrder.With(FeatureBit.RingPacked) : InOrder;
            Device = IDeviceVirtqueue.Create(Memory.Device, 1, Driver.Registers, negotiated);
            Device.Resume(null);
        }

        /// <summary>Buffers made available, taken by the device and returned with the given lengths, then published.</summary>
        public void Use(params (int Readable, int Writable, uint Length)[] buffers)
        {
            foreach (var (readable, writable, _) in buffers)
                Driver.Add(readable > 0 ? [new byte[readable]] : [], writable > 0 ? [writable] : []);
            Driver.Publish();
            foreach (var (_, _, length) in buffers) Device.AddUsed(Device.Pop()!.Handle, length);
            Device.PublishUsed();
        }

        public void Dispose() => Memory.Dispose();
    }

    [Test]
    public void Split_transmit_buffers_go_back_as_one_used_element_for_the_burst()
    {
        using var r = new Rig(RingFormat.Split);
        r.Use((60, 0, 0), (60, 0, 0), (60, 0, 0));
        var used = r.Driver.Registers.Used;
        Assert.Multiple(() =>
        {
            Assert.That(r.Memory.Driver.ReadU16(used + 2), Is.EqualTo((ushort)3), "used idx moves by the batch");
            Assert.That(r.Memory.Driver.ReadU32(used + 4), Is.EqualTo(2u), "the element names the batch's last buffer (head 2)");
            Assert.That(r.Memory.Driver.ReadU32(used + 12), Is.EqualTo(SplitDriverVirtqueue.NotAHead), "the elements it skips are not written");
        });
    }

    [Test]
    public void Split_a_receive_buffer_the_frame_did_not_fill_ends_its_batch()
    {
        using var r = new Rig(RingFormat.Split);
        r.Use((0, 100, 100), (0, 100, 40), (0, 100, 100));
        var got = Enumerable.Range(0, 3).Select(_ => r.Driver.TakeUsed()!).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(got.Select(u => u.Length), Is.EqualTo(new uint[] { 100, 40, 100 }));
            Assert.That(got.Select(u => u.InOrderSkipped), Is.EqualTo(new[] { true, false, false }), "the full first one rides in the second's batch");
        });
    }

    [Test]
    public void Packed_the_batch_has_one_used_descriptor_over_its_first_slot_and_the_next_goes_past_all_its_slots()
    {
        using var r = new Rig(RingFormat.Packed);
        r.Use((60, 0, 0), (60, 0, 0));
        var first = r.Driver.Registers.Desc;
        Assert.Multiple(() =>
        {
            Assert.That(PackedRing.IsUsed(r.Memory.Driver.ReadU16(first + PackedRing.FlagsOffset), true), "slot 0 is used");
            Assert.That(PackedRing.IsUsed(r.Memory.Driver.ReadU16(first + 16 + PackedRing.FlagsOffset), true), Is.False, "slot 1 is skipped");
            Assert.That(r.Driver.TakeUsed()!.InOrderSkipped, Is.True);
            Assert.That(r.Driver.TakeUsed()!.InOrderSkipped, Is.False);
        });
        r.Use((60, 0, 0));
        Assert.That(r.Driver.TakeUsed(), Is.Not.Null, "the next batch's used descriptor is at slot 2");
    }
}
