namespace VirtioMq.Spec;

/// <summary>An immutable set of feature bits (0..127), wide enough for every bit virtio-net defines.</summary>
public readonly record struct FeatureSet(UInt128 Bits)
{
    public static readonly FeatureSet Empty = new(UInt128.Zero);

    public static FeatureSet Of(params FeatureBit[] bits) => bits.Aggregate(Empty, (s, b) => s.With(b));

    public bool Has(FeatureBit bit) => (Bits & (UInt128.One << (int)bit)) != UInt128.Zero;
    public FeatureSet With(FeatureBit bit) => new(Bits | (UInt128.One << (int)bit));
    public FeatureSet Without(FeatureBit bit) => new(Bits & ~(UInt128.One << (int)bit));
    public FeatureSet Intersect(FeatureSet other) => new(Bits & other.Bits);
    public FeatureSet Union(FeatureSet other) => new(Bits | other.Bits);
    public bool IsSubsetOf(FeatureSet other) => (Bits & ~other.Bits) == UInt128.Zero;
    public bool IsEmpty => Bits == UInt128.Zero;

    /// <summary>The low 64 bits, as carried by 64-bit transports such as vhost-user GET_FEATURES.</summary>
    public ulong Low64 => (ulong)(Bits & ulong.MaxValue);
    public static FeatureSet FromLow64(ulong bits) => new(bits);

    public IEnumerable<int> BitNumbers()
    {
        for (var b = 0; b < 128; b++)
            if ((Bits & (UInt128.One << b)) != UInt128.Zero) yield return b;
    }

    public override string ToString()
    {
        var names = BitNumbers().Select(b => Enum.IsDefined(typeof(FeatureBit), b) ? ((FeatureBit)b).ToString() : $"bit{b}");
        return "{" + string.Join(",", names) + "}";
    }
}
