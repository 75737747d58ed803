namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// Keeps the QEMUs of finished sessions, reset, for the next session with the same options: starting a QEMU and its tap
/// namespace costs about 200 ms, a device reset a few commands, and a check opens a device for each of its cases. A
/// session gets a device as a driver finds it after a reset, which is all the spec lets a driver count on; frames still
/// on the tap from an earlier session carry tags no later session uses (the driver's tags are unique per process).
/// <c>reuse=0</c> in the URI starts a fresh QEMU for every session instead.
/// </summary>
internal static class QemuMachinePool
{
    /// <summary>How many idle machines are kept; past it the one idle longest is stopped.</summary>
    private const int Idle = 3;

    private static readonly LinkedList<(string Key, QemuMachine Machine)> Parked = new();
    private static readonly Lock Gate = new();

    static QemuMachinePool() => AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();

    public static QemuMachine? Take(string key)
    {
        lock (Gate)
        {
            for (var node = Parked.First; node is not null; node = node.Next)
            {
                if (node.Value.Key != key) continue;
                Parked.Remove(node);
                if (!node.Value.Machine.HasExited) return node.Value.Machine;
                node.Value.Machine.Dispose();
                return null;
            }
        }
        return null;
    }

    public static void Return(string key, QemuMachine machine)
    {
        if (!machine.TryResetForReuse())
        {
            machine.Dispose();
            return;
        }
        QemuMachine? evicted = null;
        lock (Gate)
        {
            Parked.AddFirst((key, machine));
            if (Parked.Count > Idle)
            {
                evicted = Parked.Last!.Value.Machine;
                Parked.RemoveLast();
            }
        }
        evicted?.Dispose();
    }

    /// <summary>Stops every idle QEMU (also done when the process exits; the kernel's parent-death signal covers a crash).</summary>
    public static void StopAll()
    {
        List<QemuMachine> all;
        lock (Gate)
        {
            all = [.. Parked.Select(p => p.Machine)];
            Parked.Clear();
        }
        foreach (var m in all) m.Dispose();
    }
}
