using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>Thrown inside a property when the device broke a rule; FsCheck then shrinks the case that led there.</summary>
public sealed class ConformanceViolationException : Exception
{
    public ConformanceViolationException(Violation violation) : base(violation.ToString())
    {
        ThisCase.Judged();
        Violation = violation;
    }

    public Violation Violation { get; }
}

public static class Expect
{
    /// <summary>Throws the first violation whose requirement is one of <paramref name="checkedIds"/>; the others belong to other tests.</summary>
    public static void None(IEnumerable<Violation> violations, params string[] checkedIds)
    {
        ThisCase.Judged();
        foreach (var v in violations)
            if (checkedIds.Contains(v.RequirementId)) Broken(v);
    }

    public static void That(bool condition, string requirementId, string message)
    {
        ThisCase.Judged();
        if (!condition) Broken(new Violation(requirementId, message));
    }

    /// <summary>What an oracle of the spec found (null: nothing), as a judgement of the case.</summary>
    public static void Holds(Violation? found)
    {
        ThisCase.Judged();
        if (found is not null) Broken(found);
    }

    /// <summary>A binding rule ends the case; a SHOULD is noted and the case goes on (see <see cref="ThisCase.ShouldNotMet"/>).</summary>
    private static void Broken(Violation v)
    {
        if (RequirementCatalogue.Default.TryGet(v.RequirementId, out var r) && r.Level is Level.Should or Level.ShouldNot)
            ThisCase.ShouldNotMet(v);
        else
            throw new ConformanceViolationException(v);
    }

    /// <summary>The violation to throw; making it counts as a judgement of the case (see the exception's constructor).</summary>
    public static ConformanceViolationException Violated(string requirementId, string message) => new(new Violation(requirementId, message));
}
