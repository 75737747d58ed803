using VirtioMq.Adapters.Pci;

namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// A PCI function on bus 0 of a QEMU PC machine, reached over qtest: configuration space through the legacy port pair
/// (0xcf8 address, 0xcfc data), memory space through qtest's own read/write commands, one access of the width asked.
/// </summary>
public sealed class QtestPciFunction(QtestConnection qtest, int device, int function = 0) : IPciFunction
{
    private const int AddressPort = 0xcf8;
    private const int DataPort = 0xcfc;

    public uint ReadConfig(int offset, int width)
    {
        Select(offset);
        return (uint)qtest.Read($"in{Suffix(width, io: true)} 0x{DataPort + (offset & 3):x}");
    }

    public void WriteConfig(int offset, int width, uint value)
    {
        Select(offset);
        qtest.Command($"out{Suffix(width, io: true)} 0x{DataPort + (offset & 3):x} 0x{value:x}");
    }

    public ulong ReadMemory(ulong address, int width) => qtest.Read($"read{Suffix(width, io: false)} 0x{address:x}");

    public void WriteMemory(ulong address, int width, ulong value) => qtest.Command($"write{Suffix(width, io: false)} 0x{address:x} 0x{value:x}");

    private void Select(int offset)
    {
        // Enable bit, bus 0, device (5 bits), function (3 bits), dword-aligned register.
        var address = 0x8000_0000u | (uint)(device & 0x1f) << 11 | (uint)(function & 7) << 8 | (uint)(offset & 0xfc);
        qtest.Command($"outl 0x{AddressPort:x} 0x{address:x}");
    }

    private static string Suffix(int width, bool io) => width switch
    {
        1 => "b",
        2 => "w",
        4 => "l",
        8 when !io => "q",
        _ => throw new ArgumentOutOfRangeException(nameof(width), width, io ? "port accesses are 1, 2 or 4 bytes" : "memory accesses are 1, 2, 4 or 8 bytes"),
    };
}
