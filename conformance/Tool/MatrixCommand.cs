using System.Diagnostics;
using System.Text.Json;
using VirtioMq.Conformance.Reporting;

namespace VirtioMq.Conformance.Tool;

/// <summary>
/// `matrix build OUT NAME=REPORT ...`: one interop matrix (OUT/matrix.json, OUT/matrix.html) from reports already written;
/// `matrix run DEVICES OUT`: runs the suite once per line of DEVICES (NAME URI [EXPECTED]) into OUT/NAME, then builds it.
/// Starting the devices themselves (testpmd, Open vSwitch, QEMU) is the peer scripts' job, not this command's.
/// </summary>
internal static class MatrixCommand
{
    public const string Usage = "       dotnet run --project conformance/Tool -- matrix build OUT_DIR NAME=REPORT ...\n" +
                                "       dotnet run --project conformance/Tool -- matrix run DEVICES.txt OUT_DIR [--suite conformance]";

    public static int Build(string outDir, IReadOnlyList<string> columns)
    {
        var reports = new List<(string, CertificationReport)>();
        foreach (var column in columns)
        {
            var (name, path) = column.Split('=', 2) is [var n, var p] && n.Length > 0 ? (n, p) : (Path.GetFileName(Path.TrimEndingDirectorySeparator(column)), column);
            var file = Directory.Exists(path) ? Path.Combine(path, "report.json") : path;
            if (!File.Exists(file))
            {
                Console.Error.WriteLine($"error: column '{name}': no report at {file} (a run writes VIRTIO_REPORT_DIR/report.json)");
                return 2;
            }
            try
            {
                reports.Add((name, JsonReport.Parse(File.ReadAllText(file))));
            }
            catch (JsonException e)
            {
                Console.Error.WriteLine($"error: column '{name}': {file} is not a report of this suite: {e.Message}");
                return 2;
            }
        }
        InteropMatrix matrix;
        try
        {
            matrix = InteropMatrix.Of(reports, DateTimeOffset.UtcNow);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        Directory.CreateDirectory(outDir);
        ReportFiles.Replace(Path.Combine(outDir, "matrix.json"), JsonReport.RenderAny(matrix));
        ReportFiles.Replace(Path.Combine(outDir, "matrix.html"), MatrixHtml.Render(matrix));
        foreach (var d in matrix.Devices)
            Console.WriteLine($"{d.Name,-24} {(d.Certified ? "CERTIFIED" : "NOT CERTIFIED"),-14} {d.Device}");
        Console.WriteLine($"{matrix.Rows.Count} requirements x {matrix.Devices.Count} devices: {Path.Combine(outDir, "matrix.html")} and matrix.json");
        return 0;
    }

    /// <summary>
    /// One `dotnet test` of the suite per device, each with its own report folder, one after another (devices share the
    /// machine's cores). A run that fails still gives its report: that is the matrix's point. The exit code is 1 when any
    /// run failed, as each run's `dotnet test` would say, and 2 when a run left no report at all.
    /// </summary>
    public static int Run(string devicesFile, string outDir, string suite)
    {
        if (!File.Exists(devicesFile)) { Console.Error.WriteLine($"error: no device list at {devicesFile}"); return 2; }
        var devices = new List<(string Name, string Uri, string? Expected)>();
        foreach (var (line, number) in File.ReadAllLines(devicesFile).Select((l, i) => (l.Split('#', 2)[0].Trim(), i + 1)))
        {
            if (line.Length == 0) continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length is < 2 or > 3 || parts[0].Contains('='))
            {
                Console.Error.WriteLine($"error: {devicesFile}:{number}: expected 'NAME DEVICE_URI [EXPECTED_FILE]', got '{line}'");
                return 2;
            }
            devices.Add((parts[0], parts[1], parts.Length == 3 ? parts[2] : null));
        }
        if (devices.Count == 0) { Console.Error.WriteLine($"error: {devicesFile} names no device"); return 2; }
        var failed = false;
        var columns = new List<string>();
        foreach (var (name, uri, expected) in devices)
        {
            var reportDir = Path.GetFullPath(Path.Combine(outDir, name));
            Directory.CreateDirectory(reportDir);
            File.Delete(Path.Combine(reportDir, "report.json"));
            var start = new ProcessStartInfo("dotnet", ["test", suite, "--no-build"]) { UseShellExecute = false };
            start.Environment["VIRTIO_DEVICE"] = uri;
            start.Environment["VIRTIO_REPORT_DIR"] = reportDir;
            if (expected is not null) start.Environment["VIRTIO_EXPECTED"] = Path.GetFullPath(expected);
            Console.WriteLine($"== {name}: {uri}");
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            process.WaitForExit();
            Console.WriteLine($"== {name}: dotnet test exit {process.ExitCode} after {clock.Elapsed.TotalMinutes:0.0} min");
            failed |= process.ExitCode != 0;
            if (!File.Exists(Path.Combine(reportDir, "report.json")))
            {
                Console.Error.WriteLine($"error: the run against {name} left no report in {reportDir}");
                return 2;
            }
            columns.Add($"{name}={reportDir}");
        }
        var built = Build(outDir, columns);
        return built != 0 ? built : failed ? 1 : 0;
    }
}
