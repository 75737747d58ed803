namespace VirtioMq.Adapters.Pci;

/// <summary>The kinds of virtio structure a vendor-specific capability can locate (cfg_type, §4.1.4).</summary>
public enum VirtioPciCapType : byte
{
    CommonCfg = 1,
    NotifyCfg = 2,
    IsrCfg = 3,
    DeviceCfg = 4,
    PciCfg = 5,
    SharedMemoryCfg = 8,
    VendorCfg = 9,
}

/// <summary>Where one virtio structure lives: a BAR, an offset into it and a length (struct virtio_pci_cap, §4.1.4).</summary>
public readonly record struct VirtioStructure(VirtioPciCapType Type, int Bar, uint Offset, uint Length, int CapabilityOffset);

/// <summary>
/// The virtio structures a function's capability list locates. As §4.1.4.1 asks of a driver, the first capability of
/// each type is used, and capabilities naming a reserved BAR or an unknown type are skipped, not refused.
/// </summary>
public sealed record VirtioPciCapabilities(VirtioStructure Common, VirtioStructure Notify, uint NotifyOffMultiplier, VirtioStructure Isr,
    VirtioStructure? Device, PciCapability? Msix)
{
    // Layout of struct virtio_pci_cap: cap_vndr, cap_next, cap_len, cfg_type, bar, id, padding[2], offset (le32), length (le32).
    private const int CfgTypeOffset = 3;
    private const int BarOffset = 4;
    private const int StructureOffset = 8;
    private const int LengthOffset = 12;
    private const int NotifyOffMultiplierOffset = 16;

    public static VirtioPciCapabilities Read(IPciFunction pci)
    {
        var capabilities = PciCapability.Walk(pci);
        var structures = new Dictionary<VirtioPciCapType, VirtioStructure>();
        foreach (var cap in capabilities.Where(c => c.Id == PciConfigSpace.CapabilityVendorSpecific))
        {
            var type = (VirtioPciCapType)pci.ReadConfig(cap.Offset + CfgTypeOffset, 1);
            var bar = (int)pci.ReadConfig(cap.Offset + BarOffset, 1);
            if (bar >= PciConfigSpace.BarCount || !Enum.IsDefined(type) || structures.ContainsKey(type)) continue;
            structures[type] = new VirtioStructure(type, bar, pci.ReadConfig(cap.Offset + StructureOffset, 4), pci.ReadConfig(cap.Offset + LengthOffset, 4), cap.Offset);
        }
        VirtioStructure Required(VirtioPciCapType type) => structures.TryGetValue(type, out var s)
            ? s
            : throw new Devices.DeviceProtocolException($"the device has no virtio {type} capability; a modern virtio-pci device has common, notify and ISR structures (§4.1.4)");
        var notify = Required(VirtioPciCapType.NotifyCfg);
        return new VirtioPciCapabilities(Required(VirtioPciCapType.CommonCfg), notify,
            pci.ReadConfig(notify.CapabilityOffset + NotifyOffMultiplierOffset, 4), Required(VirtioPciCapType.IsrCfg),
            structures.TryGetValue(VirtioPciCapType.DeviceCfg, out var device) ? device : null,
            capabilities.FirstOrDefault(c => c.Id == PciConfigSpace.CapabilityMsix) is { Id: PciConfigSpace.CapabilityMsix } msix ? msix : null);
    }
}
