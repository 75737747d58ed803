using System.Runtime.InteropServices;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Pci;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// A running QEMU whose virtio-net function the suite has brought up as firmware would: BARs assigned, memory decoding
/// and bus mastering on, each MSI-X vector aimed at a word of guest RAM the suite watches. What a driver session does
/// with the device is <see cref="QemuDevice"/>'s; a machine outlives sessions when <see cref="QemuMachinePool"/> keeps it.
/// </summary>
public sealed class QemuMachine : IDisposable
{
    /// <summary>PCI slot of the device on bus 0.</summary>
    public const int Slot = 4;

    /// <summary>Where the suite places BARs: inside the PC's 32-bit PCI hole, above any RAM the adapter gives the guest.</summary>
    private const ulong BarWindow = 0xe000_0000;

    /// <summary>The first MiB holds the PC's legacy holes and BIOS shadow; the vectors' words live just above it.</summary>
    public const ulong NotificationPage = 0x10_0000;

    private readonly QemuProcess _qemu;

    private QemuMachine(QemuProcess qemu, QemuOptions options, QemuInstallation installation)
    {
        _qemu = qemu;
        Options = options;
        Installation = installation;
        Memory.AddRegion(0, qemu.Ram);
        Pci = new QtestPciFunction(qemu.Qtest, Slot);
        var ids = Pci.ReadConfig(PciConfigSpace.VendorId, 4);
        if (ids != 0x1041_1af4)
            throw new DeviceProtocolException($"PCI slot {Slot} reads vendor/device 0x{ids & 0xffff:x4}/0x{ids >> 16:x4}, not 0x1af4/0x1041 (a modern virtio-net device, §4.1.2)");
        Transport = new VirtioPciTransport(Pci, BarWindow);
        Vectors = Transport.Msix?.Size ?? 0;
        // Vector 0 for configuration changes, vector 1 + vq for each virtqueue (vector 1 for all when the table is smaller).
        for (var v = 0; v < Vectors; v++) Transport.Msix!.Program(v, NotificationPage + (ulong)(4 * v), 1);
        Transport.Msix?.EnableAll();
    }

    public QemuOptions Options { get; }
    public QemuInstallation Installation { get; }
    public QtestPciFunction Pci { get; }
    public VirtioPciTransport Transport { get; }
    public GuestMemory Memory { get; } = new();
    public int Vectors { get; }
    public long RamBytes => _qemu.Ram.Size;
    public bool HasExited => _qemu.HasExited;

    /// <summary>Waits up to <paramref name="timeout"/> for QEMU to exit; true if it has.</summary>
    public bool WaitForExit(TimeSpan timeout) => _qemu.WaitForExit(timeout);
    public int Pid => _qemu.Pid;
    public string StderrTail => _qemu.StderrTail;
    public int ExitCode => _qemu.ExitCode;

    /// <summary>Starts QEMU and brings its function up; on failure says in one line why, with what QEMU printed.</summary>
    public static QemuMachine Start(QemuOptions options, QemuInstallation installation)
    {
        var qemu = QemuProcess.Start(options, installation, Slot);
        try
        {
            return new QemuMachine(qemu, options, installation);
        }
        catch (Exception e) when (QemuProcess.IsLostLink(e) && qemu.WaitForExit(TimeSpan.FromSeconds(2)))
        {
            // QEMU connects to qtest before it builds the machine; a device or netdev it cannot make stops it only then.
            var why = QemuStartException.Explain(qemu.StderrTail, qemu.ExitCode, options, installation);
            qemu.Dispose();
            throw new QemuStartException(why);
        }
        catch
        {
            qemu.Dispose();
            throw;
        }
    }

    /// <summary>The message words of the vectors, as the device writes them (MSI-X messages into guest RAM).</summary>
    public Span<int> VectorWords => MemoryMarshal.Cast<byte, int>(Memory.Span(NotificationPage, 4 * Math.Max(Vectors, 1)));

    /// <summary>
    /// Resets the device for the next session: status 0, read back as 0 (§4.1.4.3.1), and every vector word cleared.
    /// False when the device does not come back to 0, or QEMU has gone: such a machine is not reused.
    /// </summary>
    public bool TryResetForReuse()
    {
        try
        {
            if (HasExited) return false;
            Transport.WriteStatus(DeviceStatus.None);
            if (Transport.ReadStatus() != DeviceStatus.None) return false;
            VectorWords.Clear();
            return true;
        }
        catch (Exception e) when (QemuProcess.IsLostLink(e))
        {
            return false;
        }
    }

    public void Dispose() => _qemu.Dispose();
}
