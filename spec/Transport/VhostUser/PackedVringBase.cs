namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// SET_VRING_BASE and GET_VRING_BASE's num for a packed ring: bits 0-14 the next descriptor the back-end takes,
/// bit 15 its avail wrap counter, bits 16-30 the next descriptor it marks used, bit 31 its used wrap counter. A
/// back-end that keeps no used position of its own reads the low half for both (they are equal on a stopped ring with
/// nothing in flight).
/// </summary>
public readonly record struct PackedVringBase(PackedPosition Avail, PackedPosition Used)
{
    public static PackedVringBase Start { get; } = new(PackedPosition.Start, PackedPosition.Start);

    public uint Encode() => Avail.Encode() | ((uint)Used.Encode() << 16);

    public static PackedVringBase Decode(uint num) => new(PackedPosition.Decode((ushort)num), PackedPosition.Decode((ushort)(num >> 16)));

    public override string ToString() => $"avail {Avail}, used {Used}";
}
