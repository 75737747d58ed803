using VirtioMq.Spec;

namespace VirtioMq.Adapters.Pci;

/// <summary>
/// The modern (virtio 1.x) PCI transport of §4.1, from the driver's side: the capability walk, feature words through
/// the select registers, status and reset, queue registers, notification addresses, MSI-X vectors and the device
/// configuration with its generation count. It knows nothing of virtio-net; a device adapter builds on it.
/// </summary>
public sealed class VirtioPciTransport : IVirtioPciRegisters
{
    private readonly IPciFunction _pci;
    private readonly ulong _common;
    private readonly ulong _notify;
    private readonly ulong _isr;
    private readonly ulong? _device;

    /// <summary>Assigns the function's BARs from <paramref name="barWindow"/>, enables it and locates its virtio structures.</summary>
    public VirtioPciTransport(IPciFunction pci, ulong barWindow)
    {
        _pci = pci;
        Bars = PciBars.Assign(pci, barWindow);
        Structures = VirtioPciCapabilities.Read(pci);
        ulong At(VirtioStructure s) => Bars[s.Bar] + s.Offset;
        _common = At(Structures.Common);
        _notify = At(Structures.Notify);
        _isr = At(Structures.Isr);
        _device = Structures.Device is { } d ? At(d) : null;
        Msix = Structures.Msix is { } m ? new MsixTable(pci, m, Bars) : null;
        PciBars.Enable(pci, intxOff: Msix is not null);
    }

    public IReadOnlyList<ulong> Bars { get; }
    public VirtioPciCapabilities Structures { get; }

    /// <summary>The MSI-X table, or null when the function has no MSI-X capability (INTx only).</summary>
    public MsixTable? Msix { get; }

    public FeatureSet ReadDeviceFeatures()
    {
        // Four 32-bit words cover the 128 feature bits the spec defines so far.
        UInt128 bits = 0;
        for (var word = 0u; word < 4; word++)
        {
            Write32(CommonConfig.DeviceFeatureSelect, word);
            bits |= (UInt128)Read32(CommonConfig.DeviceFeature) << (int)(32 * word);
        }
        return new FeatureSet(bits);
    }

    public void WriteDriverFeatures(FeatureSet features)
    {
        for (var word = 0u; word < 4; word++)
        {
            Write32(CommonConfig.DriverFeatureSelect, word);
            Write32(CommonConfig.DriverFeature, (uint)(features.Bits >> (int)(32 * word)));
        }
    }

    public DeviceStatus ReadStatus() => (DeviceStatus)Read(CommonConfig.DeviceStatus, 1);
    public void WriteStatus(DeviceStatus status) => Write(CommonConfig.DeviceStatus, 1, (byte)status);
    public int NumQueues => (int)Read(CommonConfig.NumQueues, 2);
    public byte ConfigGeneration => (byte)Read(CommonConfig.ConfigGeneration, 1);

    /// <summary>Reads an ISR status byte; reading it clears it (§4.1.4.5).</summary>
    public byte ReadIsr() => (byte)_pci.ReadMemory(_isr, 1);

    /// <summary>Selects <paramref name="vq"/> and reads its queue_size: the largest the device allows, 0 when it has no such queue.</summary>
    public int QueueSize(int vq)
    {
        Select(vq);
        return (int)Read(CommonConfig.QueueSize, 2);
    }

    public bool QueueEnabled(int vq)
    {
        Select(vq);
        return Read(CommonConfig.QueueEnable, 2) != 0;
    }

    public void WriteQueueReset(int vq)
    {
        Select(vq);
        Write(CommonConfig.QueueReset, 2, 1);
    }

    public bool QueueResetting(int vq)
    {
        Select(vq);
        return Read(CommonConfig.QueueReset, 2) != 0;
    }

    /// <summary>
    /// Configures and enables one virtqueue (§4.1.5.1.3): size, vector, the three ring addresses, then queue_enable.
    /// Returns the vector the device accepted (<see cref="CommonConfig.NoVector"/> when it could not map the one asked).
    /// </summary>
    public ushort SetupQueue(int vq, QueueRegisters registers, ushort vector)
    {
        Select(vq);
        Write(CommonConfig.QueueSize, 2, (ushort)registers.Size);
        Write(CommonConfig.QueueMsixVector, 2, vector);
        var accepted = (ushort)Read(CommonConfig.QueueMsixVector, 2);
        Write(CommonConfig.QueueDesc, 8, registers.Desc);
        Write(CommonConfig.QueueDriver, 8, registers.Avail);
        Write(CommonConfig.QueueDevice, 8, registers.Used);
        Write(CommonConfig.QueueEnable, 2, 1);
        return accepted;
    }

    /// <summary>Sets the configuration change vector; returns what the device read back.</summary>
    public ushort SetConfigVector(ushort vector)
    {
        Write(CommonConfig.ConfigMsixVector, 2, vector);
        return (ushort)Read(CommonConfig.ConfigMsixVector, 2);
    }

    /// <summary>The address a driver writes to notify <paramref name="vq"/>: cap offset + queue_notify_off × notify_off_multiplier (§4.1.4.4).</summary>
    public ulong NotifyAddress(int vq)
    {
        Select(vq);
        var off = Read(CommonConfig.QueueNotifyOff, 2);
        return _notify + off * Structures.NotifyOffMultiplier;
    }

    /// <summary>An available buffer notification without VIRTIO_F_NOTIFICATION_DATA: the queue index, 16 bits (§4.1.5.2).</summary>
    public static void Notify(IPciFunction pci, ulong address, int vq) => pci.WriteMemory(address, 2, (ushort)vq);

    /// <summary>
    /// Reads device configuration bytes as §4.1.4.3.2 asks: again, until config_generation is the same before and
    /// after, so a multi-byte field is never torn across a change. Gives up after a bounded number of tries.
    /// </summary>
    public void ReadDeviceConfig(int offset, Span<byte> destination)
    {
        if (_device is not { } device)
            throw new Devices.DeviceProtocolException("the device has no device-specific configuration capability (§4.1.4.6), so its config space cannot be read");
        for (var attempt = 0; ; attempt++)
        {
            var before = ConfigGeneration;
            for (var i = 0; i < destination.Length; i++) destination[i] = (byte)_pci.ReadMemory(device + (ulong)(offset + i), 1);
            if (ConfigGeneration == before) return;
            if (attempt == 100)
                throw new Devices.DeviceProtocolException("config_generation changed across each of 100 reads of the device configuration (§4.1.4.3)");
        }
    }

    public ulong ReadCommon(int offset, int width) => Read(offset, width);
    public void WriteCommon(int offset, int width, ulong value) => Write(offset, width, value);

    private void Select(int vq) => Write(CommonConfig.QueueSelect, 2, (ushort)vq);
    private uint Read32(int offset) => (uint)Read(offset, 4);
    private void Write32(int offset, uint value) => Write(offset, 4, value);
    private ulong Read(int offset, int width) => _pci.ReadMemory(_common + (ulong)offset, width);

    private void Write(int offset, int width, ulong value)
    {
        // 64-bit registers go as two 32-bit halves, low first: §4.1.3.1 lets a device refuse 64-bit accesses.
        if (width == 8)
        {
            _pci.WriteMemory(_common + (ulong)offset, 4, (uint)value);
            _pci.WriteMemory(_common + (ulong)offset + 4, 4, value >> 32);
            return;
        }
        _pci.WriteMemory(_common + (ulong)offset, width, value);
    }
}
