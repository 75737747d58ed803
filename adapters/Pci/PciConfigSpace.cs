namespace VirtioMq.Adapters.Pci;

/// <summary>Offsets and bits of the PCI type 0 configuration header that a virtio driver uses (PCI Local Bus 3.0, §6.2).</summary>
public static class PciConfigSpace
{
    public const int VendorId = 0x00;
    public const int DeviceId = 0x02;
    public const int Command = 0x04;
    public const int Status = 0x06;
    public const int RevisionId = 0x08;
    public const int Bar0 = 0x10;
    public const int SubsystemId = 0x2e;
    public const int CapabilitiesPointer = 0x34;
    public const int BarCount = 6;

    /// <summary>Command register: the function answers memory accesses to its BARs.</summary>
    public const ushort CommandMemorySpace = 1 << 1;

    /// <summary>Command register: the function may master the bus, which a virtio device needs to reach its rings (DMA) and to send MSI-X.</summary>
    public const ushort CommandBusMaster = 1 << 2;

    /// <summary>Command register: legacy INTx is off (set when MSI-X is used).</summary>
    public const ushort CommandInterruptDisable = 1 << 10;

    /// <summary>Status register: the capability list at <see cref="CapabilitiesPointer"/> is valid.</summary>
    public const ushort StatusCapabilitiesList = 1 << 4;

    public const byte CapabilityMsix = 0x11;
    public const byte CapabilityVendorSpecific = 0x09;
}
