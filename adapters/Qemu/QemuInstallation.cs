using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// A QEMU binary found and checked once per path: its version, and the firmware folders an unpacked QEMU (one not
/// installed under /usr, such as tests/peers/qemu-versions.sh makes) needs to be told about.
/// </summary>
public sealed partial record QemuInstallation(string Binary, string Version, Version Number, IReadOnlyList<string> DataDirs)
{
    /// <summary>The oldest QEMU the adapter runs: 5.0 added <c>-machine memory-backend</c>, which guest RAM in a shared file needs.</summary>
    public static readonly Version Oldest = new(5, 0);

    private static readonly ConcurrentDictionary<string, QemuInstallation> Found = new();

    /// <exception cref="FileNotFoundException">No QEMU at that path or on PATH.</exception>
    /// <exception cref="NotSupportedException">The QEMU is older than <see cref="Oldest"/>.</exception>
    public static QemuInstallation Find(string binary) => Found.GetOrAdd(binary, Probe);

    private static QemuInstallation Probe(string binary)
    {
        var path = binary.Contains('/', StringComparison.Ordinal) ? binary : Which(binary);
        if (path is null || !File.Exists(path))
            throw new FileNotFoundException($"QEMU not found at '{binary}': install Debian's (apt-get install qemu-system-x86) or QEMU 10 with " +
                "`tests/peers/qemu-versions.sh install 10`, and give its path: qemu:///path/to/qemu-system-x86_64?pairs=4", binary);
        var info = new ProcessStartInfo(path, "-version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(info) ?? throw new FileNotFoundException($"could not run {path}");
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit(5000);
        var m = VersionLine().Match(output);
        if (!m.Success) throw new NotSupportedException($"{path} -version did not print a QEMU version (it printed '{output.Trim()}')");
        var number = new Version(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value));
        if (number < Oldest)
            throw new NotSupportedException($"{path} is QEMU {number}; the adapter needs {Oldest} or later (guest RAM as a shared memory backend)");
        return new QemuInstallation(path, $"QEMU {m.Groups[0].Value.Replace("QEMU emulator version ", "", StringComparison.Ordinal)}", number, FirmwareDirs(path));
    }

    /// <summary>For a binary at ROOT/usr/bin outside the system's /usr, the firmware folders of that tree.</summary>
    private static List<string> FirmwareDirs(string path)
    {
        var bin = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (bin is "/usr/bin" or "/bin" or "/usr/local/bin") return [];
        var usr = Path.GetDirectoryName(bin)!;
        return new[] { Path.Combine(usr, "share", "seabios"), Path.Combine(usr, "share", "qemu") }.Where(Directory.Exists).ToList();
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    [GeneratedRegex(@"QEMU emulator version (\d+)\.(\d+)\.(\d+)[^\n]*")]
    private static partial Regex VersionLine();
}
