using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Properties;

/// <summary>Generators shared by the properties: pair counts, feature subsets and traffic, each with a shrinker.</summary>
public static class Generators
{
    /// <summary>Pair counts up to which the suite posts receive buffers and sends traffic.</summary>
    public const int TrafficPairs = 16;

    /// <summary>
    /// max_virtqueue_pairs for a case: anything in 1..0x8000, or up to what the adapter can build (mostly small, often
    /// the edges) when the device lets the suite choose, else the device's own value.
    /// </summary>
    public static Gen<int> MaxPairs(SuiteContext ctx)
    {
        var ceiling = ctx.PairsCeiling;
        return ceiling > 0
            ? Gen.Frequency(
                (6, Gen.Choose(1, Math.Min(TrafficPairs, ceiling))),
                (2, Gen.Elements(1, Math.Min(2, ceiling), Math.Max(1, ceiling - 1), ceiling)),
                (2, Gen.Choose(1, ceiling)))
            : Gen.Constant(DeviceFacts.Of(ctx).MaxPairs);
    }

    /// <summary>Smaller values to try first when shrinking a pair count, keeping it at least <paramref name="min"/>.</summary>
    public static IEnumerable<int> ShrinkPairs(int n, int min = 1)
    {
        if (n <= min) yield break;
        yield return min;
        if (n / 2 > min) yield return n / 2;
        if (n - 1 > min) yield return n - 1;
    }

    /// <summary>The optional features a driver may pick from; VERSION_1 is always accepted.</summary>
    public static readonly FeatureBit[] Optional =
        [FeatureBit.NetCtrlVq, FeatureBit.NetMq, FeatureBit.NetRss, FeatureBit.EventIdx, FeatureBit.IndirectDesc, FeatureBit.NetMac, FeatureBit.NetStatus];

    /// <summary>A valid driver subset of <paramref name="offered"/>: VERSION_1 plus a random pick, closed under the dependencies.</summary>
    public static Gen<FeatureSet> ValidSubset(FeatureSet offered) =>
        Gen.SubListOf(Optional).Select(pick => Close(FeatureSet.Of([FeatureBit.Version1, .. pick]).Intersect(offered)));

    /// <summary>Drops every feature whose dependencies are missing, until the set is valid.</summary>
    public static FeatureSet Close(FeatureSet set)
    {
        while (FeatureRules.FirstUnsatisfied(set) is { } u) set = set.Without(u.Feature);
        return set;
    }

    public static IEnumerable<FeatureSet> ShrinkFeatures(FeatureSet set) =>
        set.BitNumbers().Where(b => b != (int)FeatureBit.Version1).Select(b => Close(set.Without((FeatureBit)b)));

    /// <summary>Shrinks a list by dropping one element at a time, then shrinking elements.</summary>
    public static IEnumerable<T[]> ShrinkList<T>(T[] items, Func<T, IEnumerable<T>>? element = null)
    {
        for (var i = 0; i < items.Length; i++) yield return [.. items[..i], .. items[(i + 1)..]];
        if (element is null) yield break;
        for (var i = 0; i < items.Length; i++)
            foreach (var e in element(items[i]))
                yield return [.. items[..i], e, .. items[(i + 1)..]];
    }
}
