namespace VirtioMq.Spec;

/// <summary>What the driver wrote for one virtqueue through the transport (PCI common config or vhost-user SET_VRING_*).</summary>
public sealed record QueueRegisters(int Size, ulong Desc, ulong Avail, ulong Used);
