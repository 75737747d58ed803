using VirtioMq.Reference.Net;
using VirtioMq.Reference.Virtqueues;
using VirtioMq.Reference.Zoo;
using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.Reference;

/// <summary>
/// The device side of packed rings (§2.8). The driver's part is written here by hand, descriptor by descriptor, from
/// the spec: no driver-side packed ring class, so the device is judged against the text and not against a second
/// reading of it that could share its mistakes.
/// </summary>
[TestFixture]
public sealed class PackedVirtqueueTests
{
    private const ulong Desc = SharedGuestMemory.Base + 0x1000;
    private const ulong DriverArea = SharedGuestMemory.Base + 0x100;
    private const ulong DeviceArea = SharedGuestMemory.Base + 0x200;
    private const ulong Buffers = SharedGuestMemory.Base + 0x40000;
    private const ulong Table = SharedGuestMemory.Base + 0x30000;
    private const ushort Write = PackedRing.DescFWrite;
    private const ushort Next = PackedRing.DescFNext;
    private const ushort Indirect = PackedRing.DescFIndirect;

    /// <summary>A ring in shared memory: the test writes the driver's side, the device under test reads it.</summary>
    private sealed class Rig : IDisposable
    {
        public readonly SharedGuestMemory Memory = new();
        public readonly PackedVirtqueue Device;
        public readonly int Size;

        // The driver's next slot and wrap counter, as §2.8.1 has the driver keep them.
        public PackedPosition DriverNext = PackedPosition.Start;

        public Rig(int size = 8, bool eventIdx = false, bool indirect = true, IRingRules? rules = null, uint? vringBase = null)
        {
            Size = size;
            Device = new PackedVirtqueue(Memory.Device, 0, size, Desc, DriverArea, DeviceArea, eventIdx, indirect, rules);
            Device.Resume(vringBase);
            if (vringBase is { } b) DriverNext = PackedVringBase.Decode(b).Avail;
        }

        public static ulong Buffer(int i) => Buffers + 0x1000UL * (ulong)i;

        /// <summary>
        /// Makes one list available at the driver's next slots: every descriptor but the first gets its flags at once,
        /// the first last (ring.packed.drv.first-desc-last). Returns the slot of the first descriptor.
        /// </summary>
        public int Offer(ushort id, params (ulong Addr, uint Len, ushort Flags)[] list)
        {
            var first = DriverNext;
            var pos = first;
            for (var i = 0; i < list.Length; i++)
            {
                var (addr, len, flags) = list[i];
                // Linux writes the id into every descriptor and DPDK only into the last; 0xEEEE here shows the device takes the last.
                WriteDesc(pos.Offset, addr, len, i == list.Length - 1 ? id : (ushort)0xEEEE);
                var f = (ushort)(flags | PackedRing.AvailFlags(pos.Wrap) | (i < list.Length - 1 ? Next : 0));
                if (i > 0) Memory.Driver.WriteU16Release(SlotAt(pos.Offset) + PackedRing.FlagsOffset, f);
                else _firstFlags = f;
                pos = pos.Advance(1, Size);
            }
            Memory.Driver.WriteU16Release(SlotAt(first.Offset) + PackedRing.FlagsOffset, _firstFlags);
            DriverNext = pos;
            return first.Offset;
        }

        private ushort _firstFlags;

        public int Offer(ushort id, ulong addr, uint len, ushort flags = 0) => Offer(id, (addr, len, flags));

        public static ulong SlotAt(int slot) => Desc + 16UL * (ulong)slot;

        public void WriteDesc(int slot, ulong addr, uint len, ushort id)
        {
            Memory.Driver.WriteU64(SlotAt(slot), addr);
            Memory.Driver.WriteU32(SlotAt(slot) + 8, len);
            Memory.Driver.WriteU16(SlotAt(slot) + 12, id);
        }

        public void WriteFlags(int slot, ushort flags) => Memory.Driver.WriteU16Release(SlotAt(slot) + PackedRing.FlagsOffset, flags);

        public (ushort Id, uint Len, ushort Flags) Read(int slot) =>
            (Memory.Driver.ReadU16(SlotAt(slot) + 12), Memory.Driver.ReadU32(SlotAt(slot) + 8), Memory.Driver.ReadU16Acquire(SlotAt(slot) + 14));

        /// <summary>Whether the driver, whose used wrap counter is <paramref name="wrap"/>, sees slot <paramref name="slot"/> used.</summary>
        public bool SeesUsed(int slot, bool wrap) => PackedRing.IsUsed(Read(slot).Flags, wrap);

        public void DriverEvents(ushort flags, ushort offWrap = 0)
        {
            Memory.Driver.WriteU16(DriverArea + PackedRing.EventOffWrapOffset, offWrap);
            Memory.Driver.WriteU16Release(DriverArea + PackedRing.EventFlagsOffset, flags);
        }

        public (ushort OffWrap, ushort Flags) DeviceEvents() =>
            (Memory.Driver.ReadU16(DeviceArea + PackedRing.EventOffWrapOffset), Memory.Driver.ReadU16(DeviceArea + PackedRing.EventFlagsOffset));

        public void Dispose() => Memory.Dispose();
    }

    [Test]
    public void One_buffer_comes_back_used_over_its_slot_with_its_id_and_length()
    {
        using var rig = new Rig();
        rig.Memory.Driver.Span(Rig.Buffer(0), 5).Fill(0x5A);
        rig.Offer(7, (Rig.Buffer(0), 5, 0), (Rig.Buffer(1), 100, Write));
        var chain = rig.Device.Pop()!;
        Assert.That((chain.Head, chain.Slots, chain.ReadableLength, chain.WritableLength), Is.EqualTo(((ushort)7, 2, 5L, 100L)));
        Assert.That(chain.ReadAll(rig.Memory.Device, 100), Is.EqualTo(Enumerable.Repeat((byte)0x5A, 5)));
        Assert.That(rig.Device.Pop(), Is.Null, "nothing else is available");
        var written = chain.Write(rig.Memory.Device, [1, 2, 3]);
        rig.Device.PushUsed(chain.Handle, (uint)written);
        Assert.Multiple(() =>
        {
            Assert.That(rig.Read(0), Is.EqualTo(((ushort)7, 3u, (ushort)(PackedRing.DescFAvail | PackedRing.DescFUsed | Write))),
                "id, bytes written, AVAIL = USED = the used wrap counter, and WRITE since data was written");
            Assert.That(rig.Device.NextUsed, Is.EqualTo(new PackedPosition(2, true)), "the used side skips the list's two slots");
            Assert.That(rig.SeesUsed(1, true), Is.False, "the second slot of the list is not written");
        });
    }

    [Test]
    public void A_zeroed_ring_and_a_descriptor_of_the_wrong_lap_are_not_available()
    {
        using var rig = new Rig();
        Assert.That(rig.Device.Pop(), Is.Null, "a zeroed ring holds nothing available at wrap counter 1");
        rig.WriteDesc(0, Rig.Buffer(0), 16, 1);
        rig.WriteFlags(0, PackedRing.AvailFlags(false));
        Assert.That(rig.Device.HasAvailable, Is.False);
        Assert.That(rig.Device.Pop(), Is.Null, "AVAIL = 0, USED = 1 is available only in wrap 0 (ring.packed.dev.use-after-avail-change)");
        rig.WriteFlags(0, PackedRing.DescFAvail | PackedRing.DescFUsed);
        Assert.That(rig.Device.Pop(), Is.Null, "AVAIL = USED is a used descriptor");
    }

    [TestCase(3)]
    [TestCase(5)]
    [TestCase(8)]
    public void Both_wrap_counters_flip_after_size_descriptors(int size)
    {
        using var rig = new Rig(size);
        var usedWrap = true;
        for (var n = 0; n < 3 * size + 1; n++)
        {
            var slot = rig.Offer((ushort)(100 + n), Rig.Buffer(0), 64, Write);
            var chain = rig.Device.Pop();
            Assert.That(chain?.Head, Is.EqualTo((ushort)(100 + n)), $"buffer {n} at slot {slot}");
            rig.Device.PushUsed(chain!.Handle, 10);
            var (id, _, flags) = rig.Read(slot);
            Assert.That((id, PackedRing.IsUsed(flags, usedWrap), PackedRing.IsUsed(flags, !usedWrap)), Is.EqualTo(((ushort)(100 + n), true, false)),
                $"buffer {n}: used in lap {(usedWrap ? 1 : 0)} (flags 0x{flags:x4})");
            if (slot == size - 1) usedWrap = !usedWrap;
        }
        Assert.That((rig.Device.NextAvail, rig.Device.NextUsed), Is.EqualTo((new PackedPosition(1, false), new PackedPosition(1, false))));
    }

    [Test]
    public void A_list_across_the_end_of_the_ring_is_taken_whole_and_returned_at_its_first_slot()
    {
        using var rig = new Rig(size: 4);
        for (var n = 0; n < 3; n++)
        {
            rig.Offer((ushort)n, Rig.Buffer(n), 8);
            rig.Device.PushUsed(rig.Device.Pop()!.Handle, 0);
        }
        rig.Offer(42, (Rig.Buffer(0), 10, 0), (Rig.Buffer(1), 20, Write), (Rig.Buffer(2), 30, Write));
        Assert.That(rig.Read(0).Flags & PackedRing.DescFUsed, Is.Not.Zero, "slot 0 of the second lap carries AVAIL 0, USED 1");
        var chain = rig.Device.Pop()!;
        Assert.That(chain.Segments.Select(s => (s.Address, s.Length, s.DeviceWritable)),
            Is.EqualTo(new[] { (Rig.Buffer(0), 10u, false), (Rig.Buffer(1), 20u, true), (Rig.Buffer(2), 30u, true) }), "slots 3, 0, 1 in ring order");
        Assert.That((chain.Head, chain.Slots), Is.EqualTo(((ushort)42, 3)), "the Buffer ID is the last descriptor's");
        rig.Device.PushUsed(chain.Handle, 50);
        Assert.Multiple(() =>
        {
            Assert.That(rig.Read(3).Id, Is.EqualTo((ushort)42));
            Assert.That(rig.SeesUsed(3, true), Is.True, "written at slot 3 in the first lap");
            Assert.That(rig.Device.NextUsed, Is.EqualTo(new PackedPosition(2, false)), "then the used side skips to slot 2 of the second lap");
            Assert.That(rig.Device.NextAvail, Is.EqualTo(new PackedPosition(2, false)));
        });
    }

    [Test]
    public void An_indirect_table_is_one_slot_and_only_its_write_flags_count()
    {
        using var rig = new Rig();
        WriteTable(rig, (Rig.Buffer(0), 10, Next), (Rig.Buffer(1), 20, Indirect | Next), (Rig.Buffer(2), 30, Write | Next));
        // WRITE on the descriptor that points at the table carries no meaning (ring.packed.dev.indirect-ignore-write-flag).
        rig.Offer(9, Table, 48, Indirect | Write);
        var chain = rig.Device.Pop()!;
        Assert.Multiple(() =>
        {
            Assert.That(chain.Segments.Select(s => (s.Address, s.Length, s.DeviceWritable)),
                Is.EqualTo(new[] { (Rig.Buffer(0), 10u, false), (Rig.Buffer(1), 20u, false), (Rig.Buffer(2), 30u, true) }),
                "every entry in table order; NEXT, INDIRECT and ids inside the table are ignored");
            Assert.That((chain.Head, chain.Slots), Is.EqualTo(((ushort)9, 1)));
        });
        rig.Device.PushUsed(chain.Handle, 0);
        Assert.That((rig.Read(0).Id, rig.Device.NextUsed), Is.EqualTo(((ushort)9, new PackedPosition(1, true))));
    }

    private static void WriteTable(Rig rig, params (ulong Addr, uint Len, ushort Flags)[] entries)
    {
        for (var i = 0; i < entries.Length; i++)
        {
            var e = Table + 16UL * (ulong)i;
            rig.Memory.Driver.WriteU64(e, entries[i].Addr);
            rig.Memory.Driver.WriteU32(e + 8, entries[i].Len);
            rig.Memory.Driver.WriteU16(e + 12, (ushort)(0xAB00 + i));
            rig.Memory.Driver.WriteU16(e + 14, entries[i].Flags);
        }
    }

    public enum Bad
    {
        ReadableAfterWritable,
        BufferOutsideMemory,
        IndirectWithoutFeature,
        IndirectWithNext,
        IndirectInsideList,
        IndirectTableLengthNotMultipleOf16,
        IndirectTableEmpty,
        IndirectTableLongerThanRing,
        IndirectTableOutsideMemory,
        IndirectEntryOutsideMemory,
    }

    [TestCase(Bad.ReadableAfterWritable, 2, "device-readable descriptor after a device-writable one")]
    [TestCase(Bad.BufferOutsideMemory, 1, "outside guest memory")]
    [TestCase(Bad.IndirectWithoutFeature, 1, "without VIRTIO_F_INDIRECT_DESC")]
    [TestCase(Bad.IndirectWithNext, 2, "both INDIRECT and NEXT")]
    [TestCase(Bad.IndirectInsideList, 2, "INDIRECT descriptor inside a NEXT list")]
    [TestCase(Bad.IndirectTableLengthNotMultipleOf16, 1, "not a multiple of 16")]
    [TestCase(Bad.IndirectTableEmpty, 1, "empty")]
    [TestCase(Bad.IndirectTableLongerThanRing, 1, "longer than the 8-entry ring")]
    [TestCase(Bad.IndirectTableOutsideMemory, 1, "indirect table 0xdead00000000+32 is outside guest memory")]
    [TestCase(Bad.IndirectEntryOutsideMemory, 1, "outside guest memory")]
    public void A_malformed_list_is_refused_returned_with_length_0_and_the_ring_goes_on(Bad bad, int slots, string reason)
    {
        using var rig = new Rig(indirect: bad != Bad.IndirectWithoutFeature);
        WriteTable(rig, (Rig.Buffer(0), 10, 0), (bad == Bad.IndirectEntryOutsideMemory ? 0xDEAD_0000_0000 : Rig.Buffer(1), 20, Write));
        ushort id = 77;
        switch (bad)
        {
            case Bad.ReadableAfterWritable: rig.Offer(id, (Rig.Buffer(0), 10, Write), (Rig.Buffer(1), 10, 0)); break;
            case Bad.BufferOutsideMemory: rig.Offer(id, 0xDEAD_0000_0000, 64); break;
            case Bad.IndirectWithoutFeature or Bad.IndirectEntryOutsideMemory: rig.Offer(id, Table, 32, Indirect); break;
            case Bad.IndirectWithNext: rig.Offer(id, (Table, 32, Indirect), (Rig.Buffer(0), 10, 0)); break;
            case Bad.IndirectInsideList: rig.Offer(id, (Rig.Buffer(0), 10, 0), (Table, 32, Indirect)); break;
            case Bad.IndirectTableLengthNotMultipleOf16: rig.Offer(id, Table, 40, Indirect); break;
            case Bad.IndirectTableEmpty: rig.Offer(id, Table, 0, Indirect); break;
            case Bad.IndirectTableLongerThanRing: rig.Offer(id, Table, 16 * 9, Indirect); break;
            case Bad.IndirectTableOutsideMemory: rig.Offer(id, 0xDEAD_0000_0000, 32, Indirect); break;
        }
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains(reason));
        AssertRefusedThenGoesOn(rig, id, slots);
    }

    [Test]
    public void A_list_longer_than_the_ring_is_refused()
    {
        using var rig = new Rig(size: 4);
        // Four descriptors, each with NEXT: no last descriptor in the whole ring.
        for (var i = 3; i >= 0; i--)
        {
            rig.WriteDesc(i, Rig.Buffer(i), 8, 5);
            rig.WriteFlags(i, (ushort)(Next | PackedRing.AvailFlags(true)));
        }
        rig.DriverNext = new PackedPosition(0, false);
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains("longer than the 4-entry ring"));
        Assert.That((rig.Read(0).Id, rig.Read(0).Len, rig.SeesUsed(0, true)), Is.EqualTo(((ushort)5, 0u, true)), "returned with length 0");
        Assert.That((rig.Device.NextAvail, rig.Device.NextUsed), Is.EqualTo((new PackedPosition(0, false), new PackedPosition(0, false))),
            "the whole ring was taken and given back");
    }

    [Test]
    public void A_list_whose_next_descriptor_is_not_available_is_refused()
    {
        using var rig = new Rig();
        rig.WriteDesc(0, Rig.Buffer(0), 8, 3);
        rig.WriteFlags(0, (ushort)(Next | PackedRing.AvailFlags(true)));
        Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>().With.Message.Contains("not available (an incomplete list)"));
        Assert.That((rig.Read(0).Id, rig.SeesUsed(0, true), rig.Device.NextAvail), Is.EqualTo(((ushort)3, true, new PackedPosition(1, true))),
            "the one available slot is taken and returned");
    }

    private static void AssertRefusedThenGoesOn(Rig rig, ushort id, int slots)
    {
        Assert.Multiple(() =>
        {
            Assert.That(rig.Read(0), Is.EqualTo((id, 0u, (ushort)(PackedRing.DescFAvail | PackedRing.DescFUsed))), "returned used with length 0, no WRITE");
            Assert.That((rig.Device.NextAvail, rig.Device.NextUsed), Is.EqualTo((new PackedPosition((ushort)slots, true), new PackedPosition((ushort)slots, true))),
                "both sides skip the slots the list took");
        });
        rig.Offer(78, Rig.Buffer(3), 16, Write);
        var next = rig.Device.Pop();
        Assert.That(next?.Head, Is.EqualTo((ushort)78), "the ring goes on after the refused list");
    }

    [Test]
    public void A_batch_becomes_visible_when_its_first_used_descriptor_is_written_last()
    {
        using var rig = new Rig();
        for (ushort n = 0; n < 3; n++) rig.Offer(n, Rig.Buffer(n), 64, Write);
        var chains = Enumerable.Range(0, 3).Select(_ => rig.Device.Pop()!).ToList();
        foreach (var c in chains) rig.Device.AddUsed(c.Handle, 4);
        Assert.Multiple(() =>
        {
            Assert.That(rig.SeesUsed(0, true), Is.False, "the first of the batch waits for the publication");
            Assert.That((rig.SeesUsed(1, true), rig.SeesUsed(2, true)), Is.EqualTo((true, true)), "the later ones are written before it");
            Assert.That(rig.Device.TakeNotificationDue(), Is.False, "nothing published yet");
        });
        rig.Device.PublishUsed();
        Assert.That(Enumerable.Range(0, 3).Select(s => rig.Read(s)),
            Is.EqualTo(Enumerable.Range(0, 3).Select(s => ((ushort)s, 4u, (ushort)(PackedRing.DescFAvail | PackedRing.DescFUsed | Write)))));
        Assert.That(rig.Device.TakeNotificationDue(), Is.True);
    }

    [Test]
    public void Notifications_follow_the_driver_flags_enable_and_disable()
    {
        using var rig = new Rig();
        Assert.That(rig.Device.TakeNotificationDue(), Is.False, "nothing used yet");
        rig.Offer(1, Rig.Buffer(0), 64, Write);
        rig.Device.PushUsed(rig.Device.Pop()!.Handle, 1);
        Assert.That(rig.Device.TakeNotificationDue(), Is.True, "ENABLE (a zeroed driver area)");
        Assert.That(rig.Device.TakeNotificationDue(), Is.False, "nothing new since");
        rig.DriverEvents(PackedRing.EventFlagsDisable);
        rig.Offer(2, Rig.Buffer(0), 64, Write);
        rig.Device.PushUsed(rig.Device.Pop()!.Handle, 1);
        Assert.That(rig.Device.TakeNotificationDue(), Is.False, "DISABLE");
        rig.DriverEvents(PackedRing.EventFlagsDesc, PackedRing.OffWrap(5, true));
        rig.Offer(3, Rig.Buffer(0), 64, Write);
        rig.Device.PushUsed(rig.Device.Pop()!.Handle, 1);
        Assert.That(rig.Device.TakeNotificationDue(), Is.True, "DESC without EVENT_IDX is no mode the driver may set: notified as ENABLE");
    }

    [Test]
    public void With_event_idx_DESC_notifies_only_when_the_named_descriptor_is_used()
    {
        using var rig = new Rig(size: 4, eventIdx: true);
        // Slot 1 of the second lap: the sixth buffer.
        rig.DriverEvents(PackedRing.EventFlagsDesc, PackedRing.OffWrap(1, false));
        var due = new List<bool>();
        for (var n = 0; n < 8; n++)
        {
            rig.Offer((ushort)n, Rig.Buffer(0), 64, Write);
            rig.Device.PushUsed(rig.Device.Pop()!.Handle, 1);
            due.Add(rig.Device.TakeNotificationDue());
        }
        Assert.That(due, Is.EqualTo(new[] { false, false, false, false, false, true, false, false }));
    }

    [Test]
    public void With_event_idx_DESC_notifies_a_batch_that_passes_the_named_descriptor()
    {
        using var rig = new Rig(size: 4, eventIdx: true);
        rig.DriverEvents(PackedRing.EventFlagsDesc, PackedRing.OffWrap(2, true));
        rig.Offer(1, (Rig.Buffer(0), 8, 0), (Rig.Buffer(1), 8, 0), (Rig.Buffer(2), 8, 0));
        rig.Device.PushUsed(rig.Device.Pop()!.Handle, 0);
        Assert.That(rig.Device.TakeNotificationDue(), Is.True, "slot 2 lies inside the three slots the list took");
    }

    [Test]
    public void With_event_idx_two_laps_between_decisions_still_notify()
    {
        using var rig = new Rig(size: 2, eventIdx: true);
        rig.DriverEvents(PackedRing.EventFlagsDesc, PackedRing.OffWrap(1, true));
        for (var n = 0; n < 4; n++)
        {
            rig.Offer((ushort)n, Rig.Buffer(0), 64, Write);
            rig.Device.PushUsed(rig.Device.Pop()!.Handle, 1);
        }
        Assert.That(rig.Device.TakeNotificationDue(), Is.True, "four used slots on a 2-entry ring pass every position and wrap counter");
    }

    [Test]
    public void The_device_area_asks_for_every_kick_or_with_event_idx_for_the_next_slot()
    {
        using (var plain = new Rig())
            Assert.That(plain.DeviceEvents().Flags, Is.EqualTo(PackedRing.EventFlagsEnable));
        using var rig = new Rig(size: 2, eventIdx: true);
        Assert.That(rig.DeviceEvents(), Is.EqualTo((PackedRing.OffWrap(0, true), PackedRing.EventFlagsDesc)));
        rig.Offer(1, Rig.Buffer(0), 64);
        rig.Offer(2, Rig.Buffer(0), 64);
        rig.Device.Pop();
        Assert.That(rig.DeviceEvents().OffWrap, Is.EqualTo(PackedRing.OffWrap(1, true)));
        rig.Device.Pop();
        Assert.That(rig.Device.Pop(), Is.Null);
        Assert.That(rig.DeviceEvents().OffWrap, Is.EqualTo(PackedRing.OffWrap(0, false)), "the next slot is in the second lap");
    }

    [Test]
    public void A_ring_resumes_at_a_vring_base_and_reports_it_back()
    {
        var at = new PackedVringBase(new PackedPosition(4, false), new PackedPosition(4, false));
        using var rig = new Rig(size: 6, vringBase: at.Encode());
        Assert.That(rig.Device.VringBase, Is.EqualTo(at.Encode()));
        rig.Offer(11, (Rig.Buffer(0), 8, 0), (Rig.Buffer(1), 8, 0), (Rig.Buffer(2), 8, Write));
        var chain = rig.Device.Pop()!;
        Assert.That((chain.Head, chain.Slots), Is.EqualTo(((ushort)11, 3)), "slots 4 and 5 of the lap with wrap counter 0, then slot 0 of the next");
        rig.Device.PushUsed(chain.Handle, 8);
        Assert.Multiple(() =>
        {
            Assert.That(rig.Read(4), Is.EqualTo(((ushort)11, 8u, Write)), "used in wrap 0: AVAIL = USED = 0");
            Assert.That(rig.SeesUsed(4, false), Is.True);
            var back = PackedVringBase.Decode(rig.Device.VringBase);
            Assert.That(back, Is.EqualTo(new PackedVringBase(new PackedPosition(1, true), new PackedPosition(1, true))));
        });
    }

    [Test]
    public void A_base_naming_a_slot_outside_the_ring_is_refused()
    {
        using var m = new SharedGuestMemory();
        var q = new PackedVirtqueue(m.Device, 0, 6, Desc, DriverArea, DeviceArea, false, false);
        Assert.That(() => q.Resume(new PackedVringBase(new PackedPosition(6, true), PackedPosition.Start).Encode()),
            Throws.TypeOf<ChainError>().With.Message.Contains("outside the 6-entry ring"));
        Assert.That(() => q.Resume(new PackedVringBase(PackedPosition.Start, new PackedPosition(7, true)).Encode()), Throws.TypeOf<ChainError>());
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(100)]
    [TestCase(PackedRing.MaxQueueSize)]
    public void Any_size_up_to_32768_is_accepted(int size)
    {
        using var m = new SharedGuestMemory();
        var q = new PackedVirtqueue(m.Device, 0, size, Desc, DriverArea, DeviceArea, false, false);
        Assert.That(q.Size, Is.EqualTo(size));
    }

    [TestCase(0)]
    [TestCase(PackedRing.MaxQueueSize + 1)]
    public void A_size_outside_1_to_32768_is_refused(int size)
    {
        using var m = new SharedGuestMemory();
        Assert.Throws<ChainError>(() => new PackedVirtqueue(m.Device, 0, size, Desc, DriverArea, DeviceArea, false, false));
    }

    [TestCase(0x10ul, DriverArea, DeviceArea)]
    [TestCase(Desc, SharedGuestMemory.Base + (4 << 20) - 2, DeviceArea)]
    [TestCase(Desc, DriverArea, 0xDEAD_0000_0000ul)]
    public void Ring_parts_outside_guest_memory_are_refused(ulong desc, ulong driver, ulong device)
    {
        using var m = new SharedGuestMemory();
        Assert.That(() => new PackedVirtqueue(m.Device, 0, 8, desc, driver, device, false, false),
            Throws.TypeOf<ChainError>().With.Message.Contains("not inside guest memory"));
    }

    [Test]
    public void A_size_of_one_works_lap_after_lap()
    {
        using var rig = new Rig(size: 1);
        for (var n = 0; n < 4; n++)
        {
            rig.Offer((ushort)n, Rig.Buffer(0), 64, Write);
            rig.Device.PushUsed(rig.Device.Pop()!.Handle, 2);
            Assert.That(rig.SeesUsed(0, n % 2 == 0), Is.True, $"buffer {n}");
        }
    }

    [Test]
    public void The_ring_rules_decide_what_is_available_and_what_becomes_of_a_refused_list()
    {
        var options = new ReferenceOptions(1);
        // idx-wrap-stall takes the first lap only.
        using (var rig = new Rig(size: 2, rules: new IdxWrapStall().Plug(VirtioMq.Reference.Seams.DeviceSeams.Healthy(), options).Rings))
        {
            for (var n = 0; n < 2; n++)
            {
                rig.Offer((ushort)n, Rig.Buffer(0), 64, Write);
                rig.Device.PushUsed(rig.Device.Pop()!.Handle, 1);
            }
            rig.Offer(2, Rig.Buffer(0), 64, Write);
            Assert.That(rig.Device.Pop(), Is.Null, "the second lap is never taken");
        }
        // malformed-chain-stops-queue puts the list back and takes nothing more.
        using (var rig = new Rig(rules: new MalformedChainStopsQueue().Plug(VirtioMq.Reference.Seams.DeviceSeams.Healthy(), options).Rings))
        {
            rig.Offer(5, (Rig.Buffer(0), 8, Write), (Rig.Buffer(1), 8, 0));
            Assert.That(() => rig.Device.Pop(), Throws.TypeOf<ChainError>());
            Assert.That((rig.Device.NextAvail, rig.SeesUsed(0, true)), Is.EqualTo((PackedPosition.Start, false)), "left on the ring, never returned");
            rig.Offer(6, Rig.Buffer(2), 8);
            Assert.That(rig.Device.Pop(), Is.Null);
        }
    }
}
