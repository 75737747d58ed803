namespace VirtioMq.Spec;

// PLACEHOLDER until the catalogue loader lands: knows no requirement.
public sealed class RequirementCatalogue
{
    public static RequirementCatalogue Default { get; } = new();
    public IReadOnlyList<Requirement> All => [];
    public bool Contains(string id) => false;
    public Requirement Get(string id) => throw new KeyNotFoundException(id);
}
