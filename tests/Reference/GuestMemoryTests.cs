using VirtioMq.Spec.Memory;

namespace VirtioMq.Tests.Reference;

[TestFixture]
public sealed class GuestMemoryTests
{
    [Test]
    public void Two_mappings_of_one_memfd_see_each_others_writes()
    {
        using var m = new SharedGuestMemory();
        m.Driver.WriteU64(SharedGuestMemory.Base + 64, 0x1122334455667788);
        Assert.That(m.Device.ReadU64(SharedGuestMemory.Base + 64), Is.EqualTo(0x1122334455667788));
    }

    [TestCase(0UL, 1)]
    [TestCase(SharedGuestMemory.Base - 1, 2)]
    [TestCase(SharedGuestMemory.Base + (4 << 20) - 1, 2)]
    [TestCase(ulong.MaxValue, 1)]
    public void Addresses_outside_every_region_fault(ulong address, int length)
    {
        using var m = new SharedGuestMemory();
        var e = Assert.Throws<GuestMemoryFault>(() => m.Device.Span(address, length));
        Assert.That(e!.Message, Does.Contain($"0x{address:x}"));
    }

    [Test]
    public void Overlapping_regions_are_refused()
    {
        using var m = new SharedGuestMemory();
        using var other = SharedMemoryRegion.CreateMemfd("overlap", 8192);
        Assert.Throws<ArgumentException>(() => m.Device.AddRegion(SharedGuestMemory.Base + 4096, other));
    }
}
