using VirtioMq.Adapters.VhostUser.FrontEnd;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// The front-end's packed controlq (§2.8) driven by descriptors written into guest memory by hand, slot by slot, with
/// the flags §2.8.1 gives them: no driver-side ring code, so the device side is checked against the spec's layout and
/// not against another reading of it.
/// </summary>
[TestFixture]
public sealed class PackedControlqRingTests
{
    private const ulong Base = 0x1_0000_0000;
    private const int RegionSize = 1 << 20;
    private const ulong Desc = Base + 0x1000;
    private const ulong DriverArea = Base + 0x3000;
    private const ulong DeviceArea = Base + 0x3100;
    private const ulong Buffers = Base + 0x10000;
    private const ushort Avail1 = PackedRing.DescFAvail;
    private const ushort Write = PackedRing.DescFWrite;
    private const ushort Next = PackedRing.DescFNext;

    private static readonly byte[] PairsSet1 = [NetControl.ClassMq, NetControl.MqVqPairsSet, 1, 0];

    private SharedMemoryRegion _file = null!;
    private GuestMemory _memory = null!;
    private List<string> _refused = null!;

    [SetUp]
    public void SetUp()
    {
        _file = SharedMemoryRegion.CreateMemfd("vu-packed-cvq", RegionSize);
        _memory = new GuestMemory();
        _memory.AddRegion(Base, _file);
        _refused = [];
    }

    [TearDown]
    public void TearDown() => _file.Dispose();

    private PackedControlqRing Ring(int size, bool eventIdx = false, bool indirect = false) =>
        new(_memory, new QueueRegisters(size, Desc, DriverArea, DeviceArea), eventIdx, indirect);

    private static ulong Slot(int slot) => Desc + (ulong)(PackedRing.DescriptorSize * slot);

    /// <summary>
    /// Writes one descriptor into a slot: addr, len and id first, then the flags (AVAIL = the wrap counter, USED its
    /// inverse, §2.8.1) with a release store, as §2.8.21.1 has a driver do.
    /// </summary>
    private void Put(int slot, bool wrap, ulong address, uint length, ushort id, ushort flags)
    {
        _memory.WriteU64(Slot(slot) + PackedRing.AddrOffset, address);
        _memory.WriteU32(Slot(slot) + PackedRing.LenOffset, length);
        _memory.WriteU16(Slot(slot) + PackedRing.IdOffset, id);
        _memory.WriteU16Release(Slot(slot) + PackedRing.FlagsOffset, (ushort)(flags | PackedRing.AvailFlags(wrap)));
    }

    /// <summary>A two-descriptor VQ_PAIRS_SET(1) at <paramref name="slot"/> and the slot after it; the ack byte is set to 0xff first.</summary>
    private ulong PutCommand(int size, int slot, bool wrap, ushort id, ulong buffer = Buffers)
    {
        PairsSet1.CopyTo(_memory.Span(buffer, PairsSet1.Length));
        var ack = buffer + 0x100;
        _memory.Span(ack, 1)[0] = 0xff;
        // The second descriptor first: a list's first descriptor is made available last (§2.8.17).
        var (second, secondWrap) = slot + 1 == size ? (0, !wrap) : (slot + 1, wrap);
        Put(second, secondWrap, ack, 1, id, Write);
        Put(slot, wrap, buffer, (uint)PairsSet1.Length, 0x7777, Next);
        return ack;
    }

    private (ushort Id, uint Len, ushort Flags) Used(int slot) =>
        (_memory.ReadU16(Slot(slot) + PackedRing.IdOffset), _memory.ReadU32(Slot(slot) + PackedRing.LenOffset), _memory.ReadU16(Slot(slot) + PackedRing.FlagsOffset));

    private ControlRequest TakeOne(PackedControlqRing ring)
    {
        var request = ring.Take(_refused.Add);
        Assert.That(request, Is.Not.Null, $"no chain taken; refused: {string.Join("; ", _refused)}");
        return request!;
    }

    [Test]
    public void A_command_is_taken_and_given_back_with_the_last_descriptors_id()
    {
        var ring = Ring(8);
        Assert.That(ring.Take(_refused.Add), Is.Null, "a zeroed ring holds nothing available");
        var ack = PutCommand(8, 0, wrap: true, id: 5);
        var request = TakeOne(ring);
        Assert.Multiple(() =>
        {
            Assert.That(request.Command, Is.EqualTo(PairsSet1));
            Assert.That(request.Head, Is.EqualTo(5), "the Buffer ID is the id of the chain's last descriptor (§2.8.6)");
            Assert.That(request.RingSlots, Is.EqualTo(2));
            Assert.That(ring.Take(_refused.Add), Is.Null, "one chain was made available");
        });
        ring.GiveBack(request, request.WriteAck(_memory, (byte)NetAck.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(_memory.Span(ack, 1)[0], Is.EqualTo((byte)NetAck.Ok));
            var used = Used(0);
            Assert.That(used.Id, Is.EqualTo(5));
            Assert.That(used.Len, Is.EqualTo(1u));
            Assert.That(used.Flags & ~Write, Is.EqualTo(PackedRing.UsedFlags(true)), "AVAIL and USED both equal the used wrap counter, 1");
            Assert.That(used.Flags & Write, Is.EqualTo(Write), "WRITE: the device wrote the ack");
            Assert.That(PackedRing.IsUsed(used.Flags, true));
            Assert.That(ring.Position.Used, Is.EqualTo(new PackedPosition(2, true)), "the used position skips the chain's second slot");
            Assert.That(ring.Position.Avail, Is.EqualTo(new PackedPosition(2, true)));
            Assert.That(_refused, Is.Empty);
        });
    }

    [Test]
    public void Both_wrap_counters_flip_after_size_descriptors()
    {
        const int size = 3;
        var ring = Ring(size);
        for (ushort i = 0; i < size; i++)
        {
            Put(i, true, Buffers, (uint)PairsSet1.Length, i, 0);
            ring.GiveBack(TakeOne(ring), 0);
        }
        Assert.Multiple(() =>
        {
            Assert.That(ring.Position, Is.EqualTo(new PackedVringBase(new(0, false), new(0, false))));
            Assert.That(ring.Take(_refused.Add), Is.Null, "slot 0 holds a used descriptor of lap 1, not an available one of lap 2");
        });
        // Lap 2: the driver's wrap counter is 0, so AVAIL clear and USED set.
        Put(0, false, Buffers, (uint)PairsSet1.Length, 9, 0);
        var request = TakeOne(ring);
        ring.GiveBack(request, 0);
        var used = Used(0);
        Assert.Multiple(() =>
        {
            Assert.That(request.Head, Is.EqualTo(9));
            Assert.That(used.Flags, Is.EqualTo(PackedRing.UsedFlags(false)), "lap 2's used descriptor has AVAIL = USED = 0 (and no WRITE: nothing written)");
            Assert.That(PackedRing.IsUsed(used.Flags, false));
            Assert.That(ring.Position.Used, Is.EqualTo(new PackedPosition(1, false)));
        });
    }

    [Test]
    public void A_chain_across_the_ring_end_is_one_buffer()
    {
        const int size = 4;
        var ring = Ring(size);
        for (ushort i = 0; i < size - 1; i++)
        {
            Put(i, true, Buffers, 4, i, 0);
            ring.GiveBack(TakeOne(ring), 0);
        }
        // Slots 3 (lap 1) and 0 (lap 2).
        var ack = PutCommand(size, size - 1, wrap: true, id: 42);
        var request = TakeOne(ring);
        ring.GiveBack(request, request.WriteAck(_memory, (byte)NetAck.Ok));
        var used = Used(size - 1);
        Assert.Multiple(() =>
        {
            Assert.That(request.Command, Is.EqualTo(PairsSet1));
            Assert.That(request.Head, Is.EqualTo(42));
            Assert.That(_memory.Span(ack, 1)[0], Is.EqualTo((byte)NetAck.Ok));
            Assert.That(used.Id, Is.EqualTo(42));
            Assert.That(used.Flags & ~Write, Is.EqualTo(PackedRing.UsedFlags(true)), "the used descriptor goes over the chain's first slot, in lap 1");
            Assert.That(ring.Position, Is.EqualTo(new PackedVringBase(new(1, false), new(1, false))));
        });
    }

    [Test]
    public void An_indirect_table_is_read_with_only_its_WRITE_flags()
    {
        var ring = Ring(4, indirect: true);
        const ulong table = Buffers + 0x800;
        var ack = Buffers + 0x100;
        PairsSet1.CopyTo(_memory.Span(Buffers, PairsSet1.Length));
        // Entry flags other than WRITE and the entries' ids are reserved (§2.8.7): junk that must not matter.
        void Entry(int i, ulong address, uint length, ushort flags)
        {
            var at = table + (ulong)(PackedRing.DescriptorSize * i);
            _memory.WriteU64(at + PackedRing.AddrOffset, address);
            _memory.WriteU32(at + PackedRing.LenOffset, length);
            _memory.WriteU16(at + PackedRing.IdOffset, 0xdead);
            _memory.WriteU16(at + PackedRing.FlagsOffset, flags);
        }
        Entry(0, Buffers, 2, Next | PackedRing.DescFIndirect | PackedRing.DescFUsed);
        Entry(1, Buffers + 2, 2, PackedRing.DescFAvail);
        Entry(2, ack, 1, Write | Next);
        // WRITE on the descriptor that points at the table is ignored too.
        Put(0, true, table, 3 * PackedRing.DescriptorSize, 7, PackedRing.DescFIndirect | Write);
        var request = TakeOne(ring);
        ring.GiveBack(request, request.WriteAck(_memory, (byte)NetAck.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(request.Command, Is.EqualTo(PairsSet1));
            Assert.That(request.Head, Is.EqualTo(7));
            Assert.That(request.RingSlots, Is.EqualTo(1), "the table takes the one ring slot that points at it");
            Assert.That(_memory.Span(ack, 1)[0], Is.EqualTo((byte)NetAck.Ok));
            Assert.That(Used(0).Id, Is.EqualTo(7));
            Assert.That(ring.Position.Used, Is.EqualTo(new PackedPosition(1, true)));
        });
    }

    [Test]
    public void An_indirect_descriptor_without_the_feature_is_refused_and_given_back()
    {
        var ring = Ring(4, indirect: false);
        Put(0, true, Buffers + 0x800, 2 * PackedRing.DescriptorSize, 3, PackedRing.DescFIndirect);
        Assert.That(ring.Take(_refused.Add), Is.Null);
        Assert.That(_refused, Has.Count.EqualTo(1).And.Some.Contains("VIRTIO_F_INDIRECT_DESC"));
        Assert.That(Used(0), Is.EqualTo(((ushort)3, 0u, PackedRing.UsedFlags(true))));
    }

    [Test]
    public void A_refused_chain_is_given_back_empty_and_the_next_one_is_taken()
    {
        var ring = Ring(8);
        // Readable after writable (§2.8.17): three slots, Buffer ID 11 on the last.
        Put(2, true, Buffers, 4, 11, 0);
        Put(1, true, Buffers + 0x100, 1, 0, Write | Next);
        Put(0, true, Buffers, 4, 0, Next);
        var ack = PutCommand(8, 3, wrap: true, id: 12, buffer: Buffers + 0x200);
        var request = TakeOne(ring);
        Assert.Multiple(() =>
        {
            Assert.That(_refused, Has.Count.EqualTo(1).And.Some.Contains("device-readable descriptor after a device-writable"));
            Assert.That(Used(0), Is.EqualTo(((ushort)11, 0u, PackedRing.UsedFlags(true))), "given back over its first slot with len 0 and no WRITE");
            Assert.That(request.Head, Is.EqualTo(12));
            Assert.That(ring.Position.Used, Is.EqualTo(new PackedPosition(3, true)), "the refused chain's three slots were skipped");
        });
        ring.GiveBack(request, request.WriteAck(_memory, (byte)NetAck.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(Used(3).Id, Is.EqualTo(12), "the next used descriptor goes right after the refused chain's");
            Assert.That(_memory.Span(ack, 1)[0], Is.EqualTo((byte)NetAck.Ok));
        });
    }

    [Test]
    public void NEXT_into_a_slot_that_is_not_available_is_refused()
    {
        var ring = Ring(4);
        Put(0, true, Buffers, 4, 6, Next);
        Assert.That(ring.Take(_refused.Add), Is.Null);
        Assert.Multiple(() =>
        {
            Assert.That(_refused, Has.Count.EqualTo(1).And.Some.Contains("not available"));
            Assert.That(Used(0), Is.EqualTo(((ushort)6, 0u, PackedRing.UsedFlags(true))));
            Assert.That(ring.Position, Is.EqualTo(new PackedVringBase(new(1, true), new(1, true))));
        });
    }

    [Test]
    public void NEXT_on_every_slot_of_the_ring_is_refused()
    {
        var ring = Ring(2);
        Put(1, true, Buffers, 4, 1, Next);
        Put(0, true, Buffers, 4, 0, Next);
        Assert.That(ring.Take(_refused.Add), Is.Null);
        Assert.Multiple(() =>
        {
            Assert.That(_refused, Has.Count.EqualTo(1).And.Some.Contains("longer than the queue size"));
            Assert.That(Used(0).Id, Is.EqualTo(1));
            Assert.That(ring.Position.Used, Is.EqualTo(new PackedPosition(0, false)));
            Assert.That(ring.Broken, Is.False);
        });
    }

    private void DriverEvent(ushort flags, ushort offWrap = 0)
    {
        _memory.WriteU16(DriverArea + PackedRing.EventOffWrapOffset, offWrap);
        _memory.WriteU16(DriverArea + PackedRing.EventFlagsOffset, flags);
    }

    /// <summary>Makes <paramref name="count"/> one-slot chains available from the ring's avail position and gives each back.</summary>
    private void UseChains(PackedControlqRing ring, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var at = ring.Position.Avail;
            Put(at.Offset, at.Wrap, Buffers, 4, (ushort)i, 0);
            ring.GiveBack(TakeOne(ring), 0);
        }
    }

    [Test]
    public void ENABLE_notifies_after_every_batch_and_DISABLE_never()
    {
        var ring = Ring(4);
        DriverEvent(PackedRing.EventFlagsEnable);
        Assert.That(ring.TakeNotificationOwed(), Is.False, "nothing was used");
        UseChains(ring, 2);
        Assert.That(ring.TakeNotificationOwed(), Is.True);
        Assert.That(ring.TakeNotificationOwed(), Is.False, "the batch was notified already");
        DriverEvent(PackedRing.EventFlagsDisable);
        UseChains(ring, 3);
        Assert.That(ring.TakeNotificationOwed(), Is.False);
    }

    [Test]
    public void DESC_notifies_only_when_the_named_descriptor_is_used()
    {
        var ring = Ring(4, eventIdx: true);
        // Slot 2 of lap 1: not reached by slots 0 and 1.
        DriverEvent(PackedRing.EventFlagsDesc, PackedRing.OffWrap(2, true));
        UseChains(ring, 2);
        Assert.That(ring.TakeNotificationOwed(), Is.False);
        // Slots 2, 3 and 0 of lap 2: slot 2 of lap 1 is among them.
        UseChains(ring, 3);
        Assert.That(ring.TakeNotificationOwed(), Is.True);
        // Slot 2 of lap 1 again: now it lies behind, the ring is at slot 1 of lap 2.
        UseChains(ring, 1);
        Assert.That(ring.TakeNotificationOwed(), Is.False, "the named descriptor belongs to a lap already past");
        // A skipped slot of a chain counts: a two-slot chain at slots 2 and 3 of lap 2 steps over slot 3.
        Assert.That(ring.Position.Avail, Is.EqualTo(new PackedPosition(2, false)));
        DriverEvent(PackedRing.EventFlagsDesc, PackedRing.OffWrap(3, false));
        PutCommand(4, 2, wrap: false, id: 1);
        var request = TakeOne(ring);
        ring.GiveBack(request, 0);
        Assert.That(ring.TakeNotificationOwed(), Is.True, "the event descriptor is the chain's second slot, which the used position skipped");
    }

    [Test]
    public void DESC_without_EVENT_IDX_notifies_as_ENABLE()
    {
        var ring = Ring(4, eventIdx: false);
        DriverEvent(PackedRing.EventFlagsDesc, PackedRing.OffWrap(3, false));
        UseChains(ring, 1);
        Assert.That(ring.TakeNotificationOwed(), Is.True);
    }

    [Test]
    public void The_device_event_structure_asks_for_kicks_as_negotiated()
    {
        _memory.WriteU16(DeviceArea + PackedRing.EventFlagsOffset, 0xffff);
        var plain = Ring(4);
        Assert.That(_memory.ReadU16(DeviceArea + PackedRing.EventFlagsOffset), Is.EqualTo(PackedRing.EventFlagsEnable), "without EVENT_IDX: every kick");
        var ring = Ring(4, eventIdx: true);
        Assert.That(_memory.ReadU16(DeviceArea + PackedRing.EventFlagsOffset), Is.EqualTo(PackedRing.EventFlagsDesc));
        UseChains(ring, 3);
        Assert.That(ring.Take(_refused.Add), Is.Null);
        Assert.That(_memory.ReadU16(DeviceArea + PackedRing.EventOffWrapOffset), Is.EqualTo(PackedRing.OffWrap(3, true)),
            "with EVENT_IDX: a kick when the slot the front-end looks at next is made available");
        UseChains(ring, 1);
        Assert.That(ring.Take(_refused.Add), Is.Null);
        Assert.That(_memory.ReadU16(DeviceArea + PackedRing.EventOffWrapOffset), Is.EqualTo(PackedRing.OffWrap(0, false)));
        Assert.That(plain.Broken, Is.False);
    }

    [Test]
    public void A_ring_outside_guest_memory_or_too_large_is_rejected()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new PackedControlqRing(_memory, new QueueRegisters(4, Base + RegionSize - 16, DriverArea, DeviceArea), false, false),
                Throws.ArgumentException);
            Assert.That(() => new PackedControlqRing(_memory, new QueueRegisters(PackedRing.MaxQueueSize + 1, Desc, DriverArea, DeviceArea), false, false),
                Throws.ArgumentException);
            Assert.That(() => Ring(3), Throws.Nothing, "a packed ring need not be a power of two");
        });
    }
}
