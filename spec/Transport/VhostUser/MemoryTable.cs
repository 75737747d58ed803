using System.Buffers.Binary;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// SET_MEM_TABLE's payload: u32 region count, u32 padding, then exactly that many regions. The fds of the message
/// match the regions in number and order.
/// </summary>
public static class MemoryTable
{
    public const int MaxRegions = 8;
    public const int PrefixSize = 8;

    public static int PayloadSize(int regions) => PrefixSize + MemoryRegion.EncodedSize * regions;

    public static byte[] Encode(ReadOnlySpan<MemoryRegion> regions)
    {
        if (regions.Length is < 1 or > MaxRegions)
            throw new ArgumentException($"a memory table has 1..{MaxRegions} regions, got {regions.Length}", nameof(regions));
        var bytes = new byte[PayloadSize(regions.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)regions.Length);
        for (var i = 0; i < regions.Length; i++)
            regions[i].Encode(bytes.AsSpan(PrefixSize + i * MemoryRegion.EncodedSize));
        return bytes;
    }

    public static MemoryRegion[] Decode(ReadOnlySpan<byte> payload, VhostUserRequest request = VhostUserRequest.SetMemTable)
    {
        if (payload.Length < PrefixSize)
            throw new VhostUserProtocolException(request, $"payload is {payload.Length} bytes, expected at least {PrefixSize}");
        var count = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        if (count is < 1 or > MaxRegions)
            throw new VhostUserProtocolException(request, $"announces {count} regions, expected 1..{MaxRegions}");
        var expected = PayloadSize((int)count);
        if (payload.Length != expected)
            throw new VhostUserProtocolException(request, $"payload is {payload.Length} bytes, expected {expected} for {count} regions");
        var regions = new MemoryRegion[count];
        for (var i = 0; i < regions.Length; i++)
            regions[i] = MemoryRegion.Decode(payload[(PrefixSize + i * MemoryRegion.EncodedSize)..]);
        return regions;
    }
}
