using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>Thrown inside a property when the device broke a rule; FsCheck then shrinks the case that led there.</summary>
public sealed class ConformanceViolationException : Exception
{
    // The newest violation raised on this thread: FsCheck keeps a case's exception to itself until the run ends,
    // and a runner that stops shrinking early still has to say which rule the first failing case broke.
    [ThreadStatic] private static Violation? _newest;

    public ConformanceViolationException(Violation violation) : base(violation.ToString())
    {
        ThisCase.Judged();
        Violation = violation;
        _newest = violation;
    }

    public Violation Violation { get; }

    /// <summary>Returns and forgets the newest violation raised on this thread.</summary>
    public static Violation? TakeNewest()
    {
        var v = _newest;
        _newest = null;
        return v;
    }
}

public static class Expect
{
    /// <summary>Throws the first violation whose requirement is one of <paramref name="checkedIds"/>; the others belong to other tests.</summary>
    public static void None(IEnumerable<Violation> violations, params string[] checkedIds)
    {
        ThisCase.Judged();
        foreach (var v in violations)
            if (checkedIds.Contains(v.RequirementId)) throw new ConformanceViolationException(v);
    }

    public static void That(bool condition, string requirementId, string message)
    {
        ThisCase.Judged();
        if (!condition) throw new ConformanceViolationException(new Violation(requirementId, message));
    }

    public static ConformanceViolationException Violated(string requirementId, string message)
    {
        ThisCase.Judged();
        return new(new Violation(requirementId, message));
    }
}
