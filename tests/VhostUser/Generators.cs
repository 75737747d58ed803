using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>Full-range integers (FsCheck's defaults stay small) with the edges mixed in, and payload structs built from them.</summary>
internal static class Generators
{
    public static readonly Gen<uint> U32 = Gen.OneOf(
        Gen.Elements(0u, 1u, 0x8000_0000u, uint.MaxValue),
        Gen.Choose(int.MinValue, int.MaxValue).Select(i => unchecked((uint)i)));

    public static readonly Gen<ulong> U64 = Gen.OneOf(
        Gen.Elements(0UL, 1UL, 1UL << 63, ulong.MaxValue),
        from hi in U32 from lo in U32 select ((ulong)hi << 32) | lo);

    public static readonly Gen<MemoryRegion> Region =
        from g in U64 from s in U64 from u in U64 from o in U64 select new MemoryRegion(g, s, u, o);

    public static readonly Gen<VringAddress> Address =
        from i in U32
        from f in U32
        from d in U64
        from u in U64
        from a in U64
        from l in U64
        select new VringAddress(i, f, d, u, a, l);
}
