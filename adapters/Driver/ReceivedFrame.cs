namespace VirtioMq.Adapters.Driver;

/// <summary>A frame taken from receiveq <see cref="Pair"/>: the virtio-net header and the Ethernet frame after it.</summary>
public sealed record ReceivedFrame(int Pair, byte[] Header, byte[] Frame, uint UsedLength);
