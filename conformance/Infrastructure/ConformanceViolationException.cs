using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>Thrown inside a property when the device broke a rule; FsCheck then shrinks the case that led there.</summary>
public sealed class ConformanceViolationException(Violation violation) : Exception(violation.ToString())
{
    public Violation Violation { get; } = violation;
}

public static class Expect
{
    /// <summary>Throws the first violation whose requirement is one of <paramref name="checkedIds"/>; the others belong to other tests.</summary>
    public static void None(IEnumerable<Violation> violations, params string[] checkedIds)
    {
        foreach (var v in violations)
            if (checkedIds.Contains(v.RequirementId)) throw new ConformanceViolationException(v);
    }

    public static void That(bool condition, string requirementId, string message)
    {
        if (!condition) throw new ConformanceViolationException(new Violation(requirementId, message));
    }

    public static ConformanceViolationException Violated(string requirementId, string message) => new(new Violation(requirementId, message));
}
