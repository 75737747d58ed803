using System.Buffers.Binary;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// SET_VRING_ADDR's payload: u32 index, u32 flags, then u64 desc, used, avail, log. The wire order puts used
/// before avail (as struct vhost_vring_addr does), the opposite of the virtio ring order, hence the explicit offsets.
/// Addresses are front-end user addresses (or IOVAs with IOMMU_PLATFORM), not guest physical addresses.
/// </summary>
public readonly record struct VringAddress(uint Index, uint Flags, ulong Desc, ulong Used, ulong Avail, ulong Log)
{
    public const int Size = 40;

    /// <summary>VHOST_VRING_F_LOG: the back-end must log used-ring writes at <see cref="Log"/>.</summary>
    public const uint LogFlag = 1;

    public byte[] Encode()
    {
        var bytes = new byte[Size];
        var s = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], Desc);
        BinaryPrimitives.WriteUInt64LittleEndian(s[16..], Used);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], Avail);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], Log);
        return bytes;
    }

    public static VringAddress Decode(ReadOnlySpan<byte> payload, VhostUserRequest request = VhostUserRequest.SetVringAddr)
    {
        PayloadSize.Expect(request, payload.Length, Size);
        return new VringAddress(
            Index: BinaryPrimitives.ReadUInt32LittleEndian(payload),
            Flags: BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]),
            Desc: BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]),
            Used: BinaryPrimitives.ReadUInt64LittleEndian(payload[16..]),
            Avail: BinaryPrimitives.ReadUInt64LittleEndian(payload[24..]),
            Log: BinaryPrimitives.ReadUInt64LittleEndian(payload[32..]));
    }
}
