namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// PCI configuration space of bus 0 through the legacy port pair of a PC (0xcf8 address, 0xcfc data), as a qtest
/// client reaches it: the address names bus, device, function and the dword, the data port the bytes in it.
/// </summary>
public sealed class QtestPciConfig(QtestConnection qtest)
{
    private const int AddressPort = 0xcf8;
    private const int DataPort = 0xcfc;

    public uint ReadU32(int device, int function, int offset)
    {
        Select(device, function, offset);
        return (uint)qtest.Read($"inl 0x{DataPort:x}");
    }

    public ushort ReadU16(int device, int function, int offset)
    {
        Select(device, function, offset);
        return (ushort)qtest.Read($"inw 0x{DataPort + (offset & 2):x}");
    }

    public void WriteU32(int device, int function, int offset, uint value)
    {
        Select(device, function, offset);
        qtest.Command($"outl 0x{DataPort:x} 0x{value:x}");
    }

    private void Select(int device, int function, int offset)
    {
        // Enable bit, bus 0, device (5 bits), function (3 bits), dword-aligned register.
        var address = 0x8000_0000u | (uint)(device & 0x1f) << 11 | (uint)(function & 7) << 8 | (uint)(offset & 0xfc);
        qtest.Command($"outl 0x{AddressPort:x} 0x{address:x}");
    }
}
