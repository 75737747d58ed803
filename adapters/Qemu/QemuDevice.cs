using System.Globalization;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Pci;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// QEMU's own virtio-net-pci as the device under test (<c>qemu:///usr/bin/qemu-system-x86_64?pairs=4&amp;netdev=tap</c>).
/// QEMU runs with its CPU halted; the suite is the guest: it drives the modern PCI transport over qtest and keeps the
/// rings in guest RAM it maps itself. Unlike over vhost-user, here the device model (features, status, config space,
/// the controlq and VQ_PAIRS_SET) is QEMU's, not the suite's. One instance is one driver session on a
/// <see cref="QemuMachine"/>, fresh or reused from <see cref="QemuMachinePool"/>.
/// </summary>
public sealed class QemuDevice : IVirtioDevice, Devices.Capabilities.IPciTransport, Devices.Capabilities.IQueueReset
{
    private const ulong FirstFreeByte = QemuMachine.NotificationPage + 0x1000;

    private readonly QemuMachine _machine;
    private readonly bool _reuse;
    private readonly Dictionary<int, ulong> _notifyAddress = [];
    private readonly Dictionary<int, int> _queueSizes = [];
    private bool _configVectorSet;
    private int _pendingIsr;
    private bool _disposed;

    public QemuDevice(DeviceUri uri) : this(uri, null)
    {
    }

    /// <param name="registers">
    /// For tests of the suite: a view put in front of the device's registers, through which the driver and the checks
    /// both see it (a device that breaks a transport rule). Such a session's QEMU is never reused.
    /// </param>
    internal QemuDevice(DeviceUri uri, Func<IVirtioPciRegisters, IVirtioPciRegisters>? registers)
    {
        Uri = uri;
        Options = QemuOptions.Parse(uri);
        _reuse = registers is null && uri.Get("reuse") is not ("0" or "false");
        _machine = (_reuse ? QemuMachinePool.Take(PoolKey) : null) ?? QemuMachine.Start(Options, QemuInstallation.Find(Options.Binary));
        Transport = registers is null ? _machine.Transport : registers(_machine.Transport);
        SettleTime = Options.Settle;
        Capabilities = new Devices.Capabilities.DeviceCapabilities().With<Devices.Capabilities.IPciTransport>(this).With<Devices.Capabilities.IQueueReset>(this);
        var t = Transport;
        Identity = new Dictionary<string, string>
        {
            ["kind"] = "QEMU virtio-net-pci driven over qtest (QEMU is the device model; the suite is the guest driver)",
            ["qemu"] = $"{Installation.Binary}: {Installation.Version}",
            ["netdev"] = Options.Netdev == QemuNetdev.Tap ? "tap (multi-queue, looped back in a private network namespace)" : $"vhost-user back-end at {Options.Socket}",
            ["device"] = Options.DeviceArgument(QemuMachine.Slot),
            ["num_queues (after reset)"] = Guard(() => t.NumQueues).ToString(CultureInfo.InvariantCulture),
            ["msix vectors"] = _machine.Vectors == 0 ? "none (INTx)" : _machine.Vectors.ToString(CultureInfo.InvariantCulture),
            ["notify_off_multiplier"] = _machine.Transport.Structures.NotifyOffMultiplier.ToString(CultureInfo.InvariantCulture),
        };
    }

    public DeviceUri Uri { get; }
    public QemuOptions Options { get; }

    /// <summary>The QEMU process this session drives.</summary>
    public int Pid => _machine.Pid;

    /// <summary>Stops every QEMU kept for reuse (the process's exit does it too).</summary>
    public static void StopIdleMachines() => QemuMachinePool.StopAll();
    public QemuInstallation Installation => _machine.Installation;

    /// <summary>The device's registers, for checks of the virtio-pci rules.</summary>
    public IVirtioPciRegisters Transport { get; }

    public GuestMemory Memory => _machine.Memory;
    public ulong MemoryBase => FirstFreeByte;
    public ulong MemorySize => (ulong)_machine.RamBytes - FirstFreeByte;

    /// <summary>
    /// num_queues as the device reads it now. §4.1.4.3 defines it as the most virtqueues the device supports, a fixed
    /// value; QEMU's reads 3 until MQ is negotiated, so the driver reads it where it uses it, after FEATURES_OK.
    /// </summary>
    public int NumQueues => Guard(() => Transport.NumQueues);

    /// <summary>The queue_size of the first receiveq; <see cref="MaxQueueSize"/> gives each queue's own.</summary>
    public int QueueMaxSize => MaxQueueSize(0);

    /// <summary>
    /// queue_size as the device offers it for <paramref name="vq"/>, read before the driver writes its own size there and
    /// kept until a reset (which puts the device's back). Which queues exist can depend on the features (see <see cref="NumQueues"/>).
    /// </summary>
    public int MaxQueueSize(int vq)
    {
        if (_queueSizes.TryGetValue(vq, out var size)) return size;
        size = Guard(() => Transport.QueueSize(vq));
        if (size != 0) _queueSizes[vq] = size;
        return size;
    }

    public TimeSpan SettleTime { get; }
    public Devices.Capabilities.DeviceCapabilities Capabilities { get; }
    public IReadOnlyDictionary<string, string> Identity { get; }

    public FeatureSet ReadDeviceFeatures() => Guard(Transport.ReadDeviceFeatures);
    public void WriteDriverFeatures(FeatureSet features) => Guard(() => Transport.WriteDriverFeatures(features));
    public DeviceStatus ReadStatus() => Guard(Transport.ReadStatus);

    public void WriteStatus(DeviceStatus status) => Guard(() =>
    {
        Transport.WriteStatus(status);
        if (status == DeviceStatus.None)
        {
            // A reset drops every vector assignment (§4.1.5.1.2 has the driver set them again) and the queue sizes written.
            _configVectorSet = false;
            _notifyAddress.Clear();
            _queueSizes.Clear();
        }
    });

    public void ReadConfig(int offset, Span<byte> destination)
    {
        var buffer = new byte[destination.Length];
        Guard(() => Transport.ReadDeviceConfig(offset, buffer));
        buffer.CopyTo(destination);
    }

    public void SetupQueue(int vq, QueueRegisters registers) => Guard(() =>
    {
        var vectors = _machine.Vectors;
        if (!_configVectorSet && vectors > 0)
        {
            Transport.SetConfigVector(0);
            _configVectorSet = true;
        }
        var vector = vectors == 0 ? CommonConfig.NoVector : (ushort)(vq + 1 < vectors ? vq + 1 : 1);
        var accepted = Transport.SetupQueue(vq, registers, vector);
        if (accepted != vector)
            throw new DeviceProtocolException($"the device did not take MSI-X vector {vector} for vq {vq} (read back 0x{accepted:x4}) though its table has {vectors} (§4.1.5.1.2)");
        _notifyAddress[vq] = Transport.NotifyAddress(vq);
    });

    /// <summary>queue_reset (§4.1.4.3): write 1, then read until the device presents 0, which says the reset is done.</summary>
    public Devices.Capabilities.QueueResetOutcome ResetQueue(int vq, TimeSpan timeout) => Guard(() =>
    {
        Transport.WriteQueueReset(vq);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Transport.QueueResetting(vq))
        {
            if (clock.Elapsed > timeout) return new Devices.Capabilities.QueueResetOutcome(false, Transport.QueueEnabled(vq));
            Thread.Sleep(1);
        }
        _notifyAddress.Remove(vq);
        return new Devices.Capabilities.QueueResetOutcome(true, Transport.QueueEnabled(vq));
    });

    public void Kick(int vq) => Guard(() =>
    {
        if (!_notifyAddress.TryGetValue(vq, out var address)) address = _notifyAddress[vq] = Transport.NotifyAddress(vq);
        VirtioPciTransport.Notify(_machine.Pci, address, vq);
    });

    /// <summary>
    /// Watches the message words of the queue vectors in guest RAM (the device writes them as MSI-X messages) until one
    /// is set or the time is up; clears what it saw. The configuration vector's word is not a used buffer notification.
    /// </summary>
    public bool WaitForNotification(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
        var spins = 0;
        while (true)
        {
            if (TakeQueueNotifications()) return true;
            if (Environment.TickCount64 >= deadline) return false;
            if (_machine.HasExited) throw Died();
            // Spin briefly (a looped-back frame takes tens of microseconds), then sleep in small steps; with INTx each look is
            // an ISR read over qtest, so those start sleeping sooner.
            if (++spins < (_machine.Vectors == 0 ? 5 : 50)) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    private bool TakeQueueNotifications()
    {
        if (_machine.Vectors == 0) return TakeIsr(queue: true);
        var any = false;
        var words = _machine.VectorWords;
        for (var v = 1; v < _machine.Vectors; v++)
            if (Interlocked.Exchange(ref words[v], 0) != 0) any = true;
        return any;
    }

    /// <summary>Whether the configuration vector fired since the last call (a config change or NEEDS_RESET, §4.1.4.5).</summary>
    public bool TakeConfigNotification()
    {
        if (_machine.Vectors == 0) return TakeIsr(queue: false);
        return Interlocked.Exchange(ref _machine.VectorWords[0], 0) != 0;
    }

    /// <summary>
    /// Without MSI-X (<c>vectors=0</c>) the device raises INTx and sets the ISR status (§4.1.4.5): bit 0 for a virtqueue,
    /// bit 1 for a configuration change. Reading the ISR clears both, so the bit not asked for is kept for its own caller.
    /// </summary>
    private bool TakeIsr(bool queue)
    {
        var isr = Guard(Transport.ReadIsr);
        _pendingIsr |= isr;
        var bit = queue ? 1 : 2;
        var hit = (_pendingIsr & bit) != 0;
        _pendingIsr &= ~bit;
        return hit;
    }

    /// <summary>The pool key: the URI as given, every option included (the pair count above all).</summary>
    private string PoolKey => Uri.Text;

    /// <summary>Runs a register access; if QEMU has died under it, says so instead of a bare socket error.</summary>
    private T Guard<T>(Func<T> access)
    {
        try
        {
            return access();
        }
        catch (Exception e) when (QemuProcess.IsLostLink(e))
        {
            // A closed connection is QEMU exiting: give the kernel a moment to report it, then say so with its last words.
            if (_machine.HasExited || _machine.WaitForExit(TimeSpan.FromSeconds(1))) throw Died();
            throw;
        }
    }

    private void Guard(Action access) => Guard(() =>
    {
        access();
        return 0;
    });

    private QemuDiedException Died()
    {
        var code = _machine.ExitCode;
        var how = code > 128 ? $"killed by signal {code - 128}{(code - 128 == 11 ? " (SIGSEGV: QEMU crashed)" : "")}" : $"exit code {code}";
        return new($"QEMU (pid {_machine.Pid}) exited during the session, {how}; its stderr: {_machine.StderrTail}");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_reuse) QemuMachinePool.Return(PoolKey, _machine);
        else _machine.Dispose();
    }
}
