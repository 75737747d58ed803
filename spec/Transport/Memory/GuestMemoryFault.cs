namespace VirtioMq.Spec.Memory;

/// <summary>A guest address that no region covers. The device treats it as bad guest input, never as a crash.</summary>
public sealed class GuestMemoryFault(ulong address, int length)
    : Exception($"guest address 0x{address:x} (+{length} bytes) is outside guest memory")
{
    public ulong Address { get; } = address;
    public int Length { get; } = length;
}
