using System.Diagnostics;

namespace VirtioMq.Tests.Interop;

/// <summary>What a run of one of the tests/peers scripts printed and how it ended.</summary>
public sealed record PeerScriptRun(string Command, int ExitCode, string Stdout, string Stderr, TimeSpan Took)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Everything a failure message needs to say what happened.</summary>
    public override string ToString() =>
        $"`{Command}` exited with {ExitCode} after {Took.TotalSeconds:F1} s\n--- stdout:\n{Stdout}\n--- stderr:\n{Stderr}";
}

/// <summary>Runs the shell scripts under tests/peers with a time limit, so no test waits on one for ever.</summary>
public static class PeerScript
{
    /// <summary>The repository root: the first directory above the test binaries that holds tests/peers.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string PathOf(string script) => Path.Combine(RepositoryRoot, "tests", "peers", script);

    /// <summary>
    /// Runs tests/peers/<paramref name="script"/> with bash. Past <paramref name="limit"/> the script and everything
    /// it started are killed and the run reports exit code -1 with what it printed so far.
    /// </summary>
    public static PeerScriptRun Run(string script, IEnumerable<string> args, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(PathOf(script));
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var command = $"{script} {string.Join(' ', start.ArgumentList.Skip(1))}";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start bash for {command}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExit(limit);
        if (!exited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        else
        {
            process.WaitForExit(); // lets the output readers reach the end
        }
        // A grandchild that kept the pipes open must not hang the test either.
        Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(10));
        var err = stderr.IsCompletedSuccessfully ? stderr.Result : "";
        if (!exited) err += $"\n(killed: still running after the {limit.TotalSeconds:F0} s limit)";
        return new PeerScriptRun(command, exited ? process.ExitCode : -1, stdout.IsCompletedSuccessfully ? stdout.Result : "", err, clock.Elapsed);
    }

    /// <summary>Where <paramref name="program"/> is on PATH, or null.</summary>
    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tests", "peers", "reference-backend.sh"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no directory above {TestContext.CurrentContext.TestDirectory} holds tests/peers/reference-backend.sh");
    }
}
