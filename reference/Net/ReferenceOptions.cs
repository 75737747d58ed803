namespace VirtioMq.Reference.Net;

/// <summary>How a reference device is built: its max_virtqueue_pairs and any bugs to reproduce.</summary>
public sealed record ReferenceOptions(int MaxPairs = 8, IReadOnlySet<DeviceFault>? Faults = null, int QueueMaxSize = 256)
{
    public IReadOnlySet<DeviceFault> FaultSet => Faults ?? new HashSet<DeviceFault>();
    public bool Has(DeviceFault f) => FaultSet.Contains(f);
}
