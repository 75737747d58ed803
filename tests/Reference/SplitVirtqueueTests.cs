using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Driver;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Reference;

/// <summary>The device side of split rings, against the suite's driver side and against hostile descriptors.</summary>
[TestFixture]
public sealed class SplitVirtqueueTests
{
    private sealed class Rig : IDisposable
    {
        public readonly SharedGuestMemory Memory = new();
        public readonly GuestAllocator Alloc;
        public readonly DriverVirtqueue Driver;
        public readonly SplitVirtqueue Device;

        public Rig(int size = 8, bool eventIdx = false, bool indirect = true)
        {
            Alloc = new GuestAllocator(SharedGuestMemory.Base, Memory.Size);
            Driver = new SplitDriverVirtqueue(Memory.Driver, Alloc, 0, size, eventIdx);
            var r = Driver.Registers;
            Device = new SplitVirtqueue(Memory.Device, 0, size, r.Desc, r.Avail, r.Used, eventIdx, indirect);
        }

        public void WriteDesc(int i, ulong addr, uint len, ushort flags, ushort next)
        {
            var d = Driver.Registers.Desc + 16UL * (ulong)i;
            Memory.Driver.WriteU64(d, addr);
            Memory.Driver.WriteU32(d + 8, len);
            Memory.Driver.WriteU16(d + 12, flags);
            Memory.Driver.WriteU16(d + 14, next);
        }

        public void Expose(params ushort[] heads)
        {
            var idx = Memory.Driver.ReadU16(Driver.Registers.Avail + 2);
            foreach (var h in heads)
            {
                Memory.Driver.WriteU16(Driver.Registers.Avail + 4 + 2UL * (ulong)(idx % Driver.Size), h);
                idx++;
            }
            Memory.Driver.WriteU16(Driver.Registers.Avail + 2, idx);
        }

        public void Dispose() => Memory.Dispose();
    }

    public sealed record ChainShape(byte[][] Readable, int[] Writable, bool Indirect)
    {
        public override string ToString() => $"{Readable.Length} readable ({string.Join(",", Readable.Select(r => r.Length))}), writable [{string.Join(",", Writable)}], indirect={Indirect}";
    }

    private static Arbitrary<ChainShape> Shapes() => Arb.From(
        from nr in Gen.Choose(0, 3)
        from readable in Gen.Choose(1, 300).Select(n => Enumerable.Range(0, n).Select(i => (byte)(i * 7)).ToArray()).ArrayOf(nr)
        from nw in Gen.Choose(nr == 0 ? 1 : 0, 3)
        from writable in Gen.Choose(1, 2048).ArrayOf(nw)
        from indirect in Gen.Elements(false, true)
        select new ChainShape(readable, writable, indirect));

    [FsCheck.NUnit.Property(MaxTest = 200)]
    public Property Driver_and_device_agree_on_every_chain() => Prop.ForAll(Shapes(), shape =>
    {
        using var rig = new Rig(size: 16);
        var head = rig.Driver.Add(shape.Readable, shape.Writable, indirect: shape.Indirect)!.Value;
        rig.Driver.Publish();
        var chain = rig.Device.Pop()!;
        var ok = chain.Head == head
            && chain.ReadAll(rig.Memory.Device, int.MaxValue).SequenceEqual(shape.Readable.SelectMany(r => r))
            && chain.WritableLength == shape.Writable.Sum();
        var reply = Enumerable.Range(0, (int)chain.WritableLength).Select(i => (byte)i).ToArray();
        var written = chain.Write(rig.Memory.Device, reply);
        rig.Device.PushUsed(chain.Head, (uint)written);
        var used = rig.Driver.TakeUsed()!;
        return ok && used.Head == head && used.Written.SequenceEqual(reply) && rig.Device.Pop() is null && rig.Driver.FreeDescriptors == 16;
    });

    [Test]
    public void A_descriptor_outside_guest_memory_is_refused_and_returned_unused()
    {
        using var rig = new Rig();
        rig.WriteDesc(0, 0xDEAD_0000_0000, 64, 0, 0);
        rig.Expose(0);
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains("outside guest memory"));
        var used = rig.Driver.Registers.Used;
        Assert.That(rig.Memory.Driver.ReadU16(used + 2), Is.EqualTo(1), "the refused chain comes back as used");
        Assert.That((rig.Memory.Driver.ReadU32(used + 4), rig.Memory.Driver.ReadU32(used + 8)), Is.EqualTo((0u, 0u)), "head 0, length 0");
        Assert.That(rig.Device.Pop(), Is.Null);
    }

    [Test]
    public void A_descriptor_loop_is_refused()
    {
        using var rig = new Rig();
        rig.WriteDesc(0, SharedGuestMemory.Base + 0x10000, 16, SplitRing.DescFNext, 1);
        rig.WriteDesc(1, SharedGuestMemory.Base + 0x10000, 16, SplitRing.DescFNext, 0);
        rig.Expose(0);
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains("loop"));
    }

    [TestCase(SplitRing.DescFNext, 99, "outside the 8-entry table")]
    [TestCase(SplitRing.DescFIndirect | SplitRing.DescFNext, 1, "both INDIRECT and NEXT")]
    public void Malformed_descriptors_are_refused(int flags, int next, string reason)
    {
        using var rig = new Rig();
        rig.WriteDesc(0, SharedGuestMemory.Base + 0x10000, 32, (ushort)flags, (ushort)next);
        rig.Expose(0);
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains(reason));
    }

    [Test]
    public void A_head_outside_the_table_is_refused()
    {
        using var rig = new Rig();
        rig.Expose(200);
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains("head 200"));
    }

    [Test]
    public void Nested_indirect_tables_are_refused()
    {
        using var rig = new Rig();
        var table = SharedGuestMemory.Base + 0x20000;
        rig.Memory.Driver.WriteU64(table, table);
        rig.Memory.Driver.WriteU32(table + 8, 16);
        rig.Memory.Driver.WriteU16(table + 12, SplitRing.DescFIndirect);
        rig.WriteDesc(0, table, 16, SplitRing.DescFIndirect, 0);
        rig.Expose(0);
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains("inside an indirect table"));
    }

    [Test]
    public void Indirect_without_the_feature_is_refused()
    {
        using var rig = new Rig(indirect: false);
        rig.Driver.Add([[1, 2, 3]], [], indirect: true);
        rig.Driver.Publish();
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains("VIRTIO_F_INDIRECT_DESC"));
    }

    [Test]
    public void Readable_after_writable_is_refused()
    {
        using var rig = new Rig();
        rig.WriteDesc(0, SharedGuestMemory.Base + 0x10000, 16, SplitRing.DescFWrite | SplitRing.DescFNext, 1);
        rig.WriteDesc(1, SharedGuestMemory.Base + 0x10100, 16, 0, 0);
        rig.Expose(0);
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains("after a device-writable"));
    }

    [Test]
    public void An_avail_idx_further_ahead_than_the_ring_breaks_the_queue_not_the_device()
    {
        using var rig = new Rig();
        rig.Memory.Driver.WriteU16(rig.Driver.Registers.Avail + 2, 100);
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains("more than the 8 entries"));
        Assert.That(rig.Device.Broken, Is.True);
        Assert.That(rig.Device.Pop(), Is.Null);
    }

    [TestCase(3)]
    [TestCase(0)]
    [TestCase(65536)]
    public void Ring_sizes_that_are_not_powers_of_two_up_to_32768_are_refused(int size)
    {
        using var m = new SharedGuestMemory();
        Assert.Throws<ChainError>(() => new SplitVirtqueue(m.Device, 0, size, SharedGuestMemory.Base, SharedGuestMemory.Base + 0x1000, SharedGuestMemory.Base + 0x2000, false, false));
    }

    [Test]
    public void Rings_outside_guest_memory_are_refused()
    {
        using var m = new SharedGuestMemory();
        Assert.Throws<ChainError>(() => new SplitVirtqueue(m.Device, 0, 8, 0x10, SharedGuestMemory.Base, SharedGuestMemory.Base + 0x1000, false, false));
    }

    [Test]
    public void Event_idx_notifies_only_when_used_idx_crosses_used_event()
    {
        using var rig = new Rig(eventIdx: true);
        for (var i = 0; i < 3; i++) rig.Driver.Add([], [64]);
        rig.Driver.Publish();
        // The driver asks to hear only once the third buffer is used (used_event = 2).
        rig.Memory.Driver.WriteU16(rig.Driver.Registers.Avail + (ulong)SplitRing.UsedEventOffset(8), 2);
        var notes = new List<bool>();
        while (rig.Device.Pop() is { } c)
        {
            rig.Device.PushUsed(c.Head, 0);
            notes.Add(rig.Device.TakeNotificationDue());
        }
        Assert.That(notes, Is.EqualTo(new[] { false, false, true }));
    }
}
