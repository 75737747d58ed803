using VirtioMq.Spec.Memory;
using VirtioMq.Spec.Platform;

namespace VirtioMq.Tests.Reference;

/// <summary>One memfd mapped twice: a driver's view and a device's view of the same guest RAM.</summary>
public sealed class SharedGuestMemory : IDisposable
{
    public const ulong Base = 0x4000_0000;
    private readonly SharedMemoryRegion _a;
    private readonly SharedMemoryRegion _b;

    public SharedGuestMemory(long bytes = 4 << 20)
    {
        _a = SharedMemoryRegion.CreateMemfd("test-guest-ram", bytes);
        _b = SharedMemoryRegion.MapFd(Libc.Check(Libc.Dup(_a.Fd), "dup"), bytes);
        Driver = new GuestMemory();
        Driver.AddRegion(Base, _a);
        Device = new GuestMemory();
        Device.AddRegion(Base, _b);
        Size = (ulong)bytes;
    }

    public GuestMemory Driver { get; }
    public GuestMemory Device { get; }
    public ulong Size { get; }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }
}
