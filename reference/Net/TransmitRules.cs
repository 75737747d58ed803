using VirtioMq.Reference.Virtqueues;
using VirtioMq.Spec.Memory;

namespace VirtioMq.Reference.Net;

/// <summary>How the data plane takes a transmitq's buffers and what becomes of them.</summary>
public interface ITransmitRules
{
    /// <summary>Whether a kick on a transmitq (enabled or not) makes the device take its buffers.</summary>
    bool Drains(bool enabled);

    /// <summary>Whether a buffer taken from a transmitq (enabled or not) goes back to the driver as used.</summary>
    bool ReturnsBuffer(bool enabled);

    /// <summary>Whether a frame taken from a transmitq (enabled or not) goes on to be received.</summary>
    bool Forwards(bool enabled);

    /// <summary>Copies the packet (virtio-net header, then frame) a chain carries into <paramref name="packet"/>; returns its length.</summary>
    int Gather(DescriptorChain chain, GuestMemory memory, Span<byte> packet);

    /// <summary>Whether a drain that took <paramref name="taken"/> buffers ends by publishing every used entry it added.</summary>
    bool PublishesAtEnd(int taken);
}

/// <summary>
/// The transmit path of §5.1.6.2 with vhost-user's ring states: every ring is drained, an enabled one's frames are
/// sent and a disabled one's discarded, and every buffer goes back used.
/// </summary>
public sealed class TransmitRules : ITransmitRules
{
    public static TransmitRules Instance { get; } = new();

    // A disabled transmitq is still drained and its frames discarded, so the driver never waits for its buffers.
    public bool Drains(bool enabled) => true;

    public bool ReturnsBuffer(bool enabled) => true;

    // A frame on a transmitq above the pairs in use goes nowhere (vhost-user "started but disabled").
    public bool Forwards(bool enabled) => enabled;

    // The header and frame may be laid out over the descriptors any way the driver likes (§2.7.4).
    public int Gather(DescriptorChain chain, GuestMemory memory, Span<byte> packet) => chain.CopyReadable(memory, packet);

    // Every drain ends with a publication: the driver must see every buffer it gave back.
    public bool PublishesAtEnd(int taken) => true;
}
