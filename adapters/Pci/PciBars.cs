namespace VirtioMq.Adapters.Pci;

/// <summary>
/// Sizes a function's memory BARs and places them in a window of the bus's memory space, as firmware does before
/// an operating system starts: with no firmware run (QEMU under qtest starts with its CPU stopped), the driver does it.
/// </summary>
public static class PciBars
{
    /// <summary>Assigns every memory BAR from <paramref name="windowStart"/> up, naturally aligned, and returns each BAR's address (0 for none or I/O).</summary>
    public static ulong[] Assign(IPciFunction pci, ulong windowStart)
    {
        var addresses = new ulong[PciConfigSpace.BarCount];
        var next = windowStart;
        for (var bar = 0; bar < PciConfigSpace.BarCount; bar++)
        {
            var offset = PciConfigSpace.Bar0 + 4 * bar;
            var original = pci.ReadConfig(offset, 4);
            if ((original & 1) != 0) continue; // an I/O BAR: a modern virtio device needs none
            var is64 = ((original >> 1) & 3) == 2;
            pci.WriteConfig(offset, 4, 0xffff_ffff);
            ulong mask = pci.ReadConfig(offset, 4) & 0xffff_fff0u;
            if (is64)
            {
                pci.WriteConfig(offset + 4, 4, 0xffff_ffff);
                mask |= (ulong)pci.ReadConfig(offset + 4, 4) << 32;
            }
            else
            {
                mask |= 0xffff_ffff_0000_0000;
            }
            if ((mask & 0xffff_ffff) == 0 && !is64)
            {
                pci.WriteConfig(offset, 4, original);
                continue; // not implemented
            }
            var size = ~mask + 1;
            next = (next + size - 1) & ~(size - 1);
            pci.WriteConfig(offset, 4, (uint)next);
            if (is64) pci.WriteConfig(offset + 4, 4, (uint)(next >> 32));
            addresses[bar] = next;
            next += size;
            if (is64) bar++;
        }
        return addresses;
    }

    /// <summary>Turns on memory decoding and bus mastering (and, with MSI-X, turns INTx off).</summary>
    public static void Enable(IPciFunction pci, bool intxOff)
    {
        var command = (ushort)pci.ReadConfig(PciConfigSpace.Command, 2);
        command |= PciConfigSpace.CommandMemorySpace | PciConfigSpace.CommandBusMaster;
        if (intxOff) command |= PciConfigSpace.CommandInterruptDisable;
        pci.WriteConfig(PciConfigSpace.Command, 2, command);
    }
}
