namespace VirtioMq.Reference.Virtqueues;

/// <summary>A descriptor chain the device refuses, with the reason it logs.</summary>
public sealed class ChainError(string reason) : Exception(reason);
