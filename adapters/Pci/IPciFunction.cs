namespace VirtioMq.Adapters.Pci;

/// <summary>
/// One PCI function as a driver reaches it: its configuration space, and the memory space its BARs decode into.
/// The virtio-pci transport is written against this, so any way of reaching a PCI device (QEMU's qtest today, a
/// VFIO device or a PCIe exerciser tomorrow) serves it by implementing these few accesses.
/// </summary>
public interface IPciFunction
{
    /// <summary>Reads 1, 2 or 4 bytes of configuration space, little-endian.</summary>
    uint ReadConfig(int offset, int width);

    /// <summary>Writes 1, 2 or 4 bytes of configuration space, little-endian.</summary>
    void WriteConfig(int offset, int width, uint value);

    /// <summary>Reads 1, 2, 4 or 8 bytes of memory space (a BAR's registers), little-endian, as one access of that width.</summary>
    ulong ReadMemory(ulong address, int width);

    /// <summary>Writes 1, 2, 4 or 8 bytes of memory space, little-endian, as one access of that width.</summary>
    void WriteMemory(ulong address, int width, ulong value);
}
