namespace VirtioMq.Spec;

/// <summary>A rule an observation broke, with the words a user needs to see why.</summary>
public sealed record Violation(string RequirementId, string Message)
{
    public override string ToString() => $"[{RequirementId}] {Message}";
}
