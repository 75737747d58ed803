using VirtioMq.Spec.Memory;
using VirtioMq.Spec.Platform;

namespace VirtioMq.Adapters.Devices;

/// <summary>
/// Guest RAM as one memfd mapped twice: once for the driver, once for the device (model) side, so the two
/// share bytes and nothing else, exactly as across a vhost-user socket.
/// </summary>
public sealed class GuestRam : IDisposable
{
    /// <summary>Guest-physical address where RAM starts: above 4 GiB, so a 32-bit truncation bug shows.</summary>
    public const ulong Base = 0x1_0000_0000;

    public GuestRam(string name, long bytes)
    {
        DriverMapping = SharedMemoryRegion.CreateMemfd(name, bytes);
        DeviceMapping = SharedMemoryRegion.MapFd(Libc.Check(Libc.Dup(DriverMapping.Fd), "dup"), bytes);
        Driver.AddRegion(Base, DriverMapping);
        Device.AddRegion(Base, DeviceMapping);
    }

    public SharedMemoryRegion DriverMapping { get; }
    public SharedMemoryRegion DeviceMapping { get; }
    public GuestMemory Driver { get; } = new();
    public GuestMemory Device { get; } = new();
    public ulong Size => (ulong)DriverMapping.Size;

    public void Dispose()
    {
        DeviceMapping.Dispose();
        DriverMapping.Dispose();
    }
}
