namespace VirtioMq.Adapters.Driver;

/// <summary>A buffer the device returned: its token, the length it reported, and the bytes it wrote (at most that length).</summary>
public sealed record UsedBuffer(int Queue, ushort Head, uint Length, byte[] Written, object? Tag);
