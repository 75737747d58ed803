using FsCheck;
using FsCheck.Fluent;

namespace VirtioMq.Conformance.Properties;

/// <summary>
/// One generated case of a check that enumerates variants (malformations, frame kinds, descriptor layouts...):
/// a sub-case for every variant, each with its own random other inputs. A check that drew one variant per case
/// left it to the seed whether a run met them all; with every variant in every case, one case is enough to meet
/// each, and randomness goes only to the inputs around them. Shrinking keeps a single failing sub-case, so the
/// shrunk counterexample names its variant.
/// </summary>
public sealed record EveryVariant<T>(T[] Cases)
{
    public override string ToString() =>
        Cases.Length == 1 ? $"{Cases[0]}" : $"{Cases.Length} variants, each in turn: {string.Join("; ", Cases.Select(c => $"{c}"))}";
}

/// <summary>Builds cases that meet every variant of a check, whatever the seed and the case count.</summary>
public static class Variants
{
    /// <summary>Every value of an enumeration, in declaration order: the variants a check names in its enum.</summary>
    public static TEnum[] Of<TEnum>() where TEnum : struct, Enum => Enum.GetValues<TEnum>();

    /// <summary>
    /// One sub-case per variant, in the order given, each drawn from <paramref name="caseOf"/> for that variant. Use it
    /// for a part of a case (the frames of one session) or, through <see cref="Each{TVariant,T}"/>, for a whole case.
    /// </summary>
    public static Gen<T[]> OneEach<TVariant, T>(IEnumerable<TVariant> variants, Func<TVariant, Gen<T>> caseOf) =>
        variants.Aggregate(Gen.Constant(Array.Empty<T>()), (acc, v) => from done in acc from next in caseOf(v) select (T[])[.. done, next]);

    /// <summary>
    /// Shrinks a list of per-variant sub-cases: each sub-case on its own first (where they are independent one of them
    /// fails alone, and the shrunk case names only that variant), then the one sub-case's own inputs.
    /// </summary>
    /// <param name="shareADevice">
    /// The sub-cases run on one device and may fail only together: after the single ones, try the list without one of
    /// them. Off for independent sub-cases, where it would only rerun all but one of them per step against a device
    /// that fails at random.
    /// </param>
    public static IEnumerable<T[]> ShrinkToOne<T>(T[] cases, Func<T, IEnumerable<T>>? shrink = null, bool shareADevice = false)
    {
        if (cases.Length > 1)
        {
            foreach (var c in cases) yield return [c];
            if (shareADevice && cases.Length > 2)
                for (var i = 0; i < cases.Length; i++) yield return [.. cases[..i], .. cases[(i + 1)..]];
            yield break;
        }
        if (cases.Length == 1 && shrink is not null)
            foreach (var smaller in shrink(cases[0])) yield return [smaller];
    }

    /// <summary>Cases holding every variant once, shrinking to one sub-case (see <see cref="ShrinkToOne{T}"/>).</summary>
    public static Arbitrary<EveryVariant<T>> Each<TVariant, T>(IEnumerable<TVariant> variants, Func<TVariant, Gen<T>> caseOf,
        Func<T, IEnumerable<T>>? shrink = null)
    {
        var list = variants.ToArray();
        if (list.Length == 0) throw new ArgumentException("a check needs at least one variant", nameof(variants));
        return Arb.From(OneEach(list, caseOf).Select(c => new EveryVariant<T>(c)),
            c => ShrinkToOne(c.Cases, shrink).Select(s => new EveryVariant<T>(s)));
    }

    /// <summary>A property that runs <paramref name="body"/> on every sub-case of each case, in order, stopping at the first failure.</summary>
    public static Property ForEach<T>(Arbitrary<EveryVariant<T>> cases, Action<T> body) =>
        Prop.ForAll(cases, c =>
        {
            foreach (var sub in c.Cases) body(sub);
        });

    /// <summary>
    /// The case count that spends about <paramref name="subCases"/> sub-cases on a check of <paramref name="variants"/>
    /// variants: what the check spent before, when it drew one variant per case. At least 1.
    /// </summary>
    public static int CasesFor(int subCases, int variants) => Math.Max(1, (subCases + variants - 1) / variants);
}
