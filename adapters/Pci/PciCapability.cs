namespace VirtioMq.Adapters.Pci;

/// <summary>One entry of a function's capability list: its ID and where it sits in configuration space.</summary>
public readonly record struct PciCapability(byte Id, int Offset)
{
    /// <summary>
    /// Walks the capability list from the header's pointer. A list that loops or points into the header is the
    /// device's fault; the walk stops there with an error naming where, instead of spinning.
    /// </summary>
    public static IReadOnlyList<PciCapability> Walk(IPciFunction pci)
    {
        var found = new List<PciCapability>();
        if ((pci.ReadConfig(PciConfigSpace.Status, 2) & PciConfigSpace.StatusCapabilitiesList) == 0) return found;
        var next = (int)pci.ReadConfig(PciConfigSpace.CapabilitiesPointer, 1) & 0xfc;
        var seen = new HashSet<int>();
        while (next != 0)
        {
            if (next < 0x40 || !seen.Add(next))
                throw new Devices.DeviceProtocolException($"the PCI capability list {(next < 0x40 ? "points into the header" : "loops")} at 0x{next:x2}");
            var id = (byte)pci.ReadConfig(next, 1);
            found.Add(new PciCapability(id, next));
            next = (int)pci.ReadConfig(next + 1, 1) & 0xfc;
        }
        return found;
    }
}
