namespace VirtioMq.Adapters.Pci;

/// <summary>
/// A function's MSI-X table (PCI Local Bus 3.0, §6.8.2): each entry is a message address and data the device writes
/// to signal that vector. The driver chooses where the messages land; a driver with no interrupt controller of its
/// own (the suite) points them at words of guest RAM it watches.
/// </summary>
public sealed class MsixTable
{
    private const int MessageControl = 2;
    private const int TableOffsetBir = 4;
    private const ushort Enable = 1 << 15;
    private const ushort FunctionMask = 1 << 14;
    private const int EntrySize = 16;

    private readonly IPciFunction _pci;
    private readonly PciCapability _capability;
    private readonly ulong _table;

    public MsixTable(IPciFunction pci, PciCapability capability, IReadOnlyList<ulong> bars)
    {
        _pci = pci;
        _capability = capability;
        var control = pci.ReadConfig(capability.Offset + MessageControl, 2);
        Size = (int)(control & 0x7ff) + 1;
        var location = pci.ReadConfig(capability.Offset + TableOffsetBir, 4);
        _table = bars[(int)(location & 7)] + (location & ~7u);
    }

    /// <summary>How many vectors the table has.</summary>
    public int Size { get; }

    /// <summary>Points vector <paramref name="vector"/> at <paramref name="address"/> with <paramref name="data"/>, unmasked.</summary>
    public void Program(int vector, ulong address, uint data)
    {
        var entry = _table + (ulong)(vector * EntrySize);
        _pci.WriteMemory(entry, 4, (uint)address);
        _pci.WriteMemory(entry + 4, 4, address >> 32);
        _pci.WriteMemory(entry + 8, 4, data);
        _pci.WriteMemory(entry + 12, 4, 0); // vector control: not masked
    }

    /// <summary>Turns MSI-X on for the function, with no function-wide mask.</summary>
    public void EnableAll()
    {
        var control = (ushort)_pci.ReadConfig(_capability.Offset + MessageControl, 2);
        _pci.WriteConfig(_capability.Offset + MessageControl, 2, (ushort)((control | Enable) & ~FunctionMask));
    }
}
