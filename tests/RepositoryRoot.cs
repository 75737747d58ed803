namespace VirtioMq.Tests;

/// <summary>The checkout the tests run from: the folder above the build output that holds Conformance.sln.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Conformance.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (Conformance.sln) is not above " + AppContext.BaseDirectory);
    }
}
