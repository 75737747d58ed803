using System.CommandLine;
using System.Runtime.InteropServices;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Reference.Zoo;

// `dotnet run --project reference -- serve --socket PATH --queue-pairs N [--fault NAME] [--check-ring-addresses] [--stats FILE] [--record-driver FILE] [--client] [--workers N|per-pair]`: the
// reference device as a vhost-user back-end that QEMU, DPDK virtio-user or the suite's own front-end can drive.

var socket = new Option<string>("--socket")
{
    Description = "Unix socket path to listen on (a stale socket file there is replaced), or with --client to connect to.",
    Required = true,
};
var pairs = new Option<int>("--queue-pairs")
{
    Description = $"Queue pairs to serve, 1..{VhostUserBackend.MaxQueuePairs}; GET_QUEUE_NUM answers this number.",
    DefaultValueFactory = _ => 1,
};
var faults = new Option<string[]>("--fault")
{
    Description = "Switch on a known multiqueue bug (repeatable). Back-end faults: " +
        string.Join(", ", DeviceFaults.InBackend.Select(f => f.Name())) + ".",
    AllowMultipleArgumentsPerToken = false,
};
var checkRingAddresses = new Option<bool>("--check-ring-addresses")
{
    Description = "Refuse SET_VRING_ADDR (a non-zero REPLY_ACK) for a ring that does not lie whole inside one memory region, instead " +
        "of refusing the ring when a kick starts it. Not a bug: another careful answer the suite must accept.",
};
var quiet = new Option<bool>("--quiet") { Description = "Log only errors and refused input, not every connection." };
var stats = new Option<string?>("--stats")
{
    Description = "Write each session's accepted features and ring format, per-ring frame counts and each ring's " +
        "enable/disable history as JSON to this file, when a front-end's session ends and on exit.",
};
var statsPeriod = new Option<double>("--stats-period")
{
    Description = "Also rewrite the --stats file every this many seconds while a front-end is connected (0: never).",
    DefaultValueFactory = _ => 0,
};

var recordDriver = new Option<string?>("--record-driver")
{
    Description = "Checking mode: record what the front-end does (features, ring set-up, each enable and disable, stops and " +
        "resets, with every ring's frame counts and available index at that moment) as JSON to this file, when a session " +
        "ends and on exit. The suite judges a driver from it.",
};
var client = new Option<bool>("--client")
{
    Description = "Client mode: connect to a front-end listening on --socket (QEMU's server=on, the suite's vhost-user ...?server=1) " +
        "instead of listening, and connect again whenever a session ends, as DPDK's client=1 does.",
};
var kickDelay = new Option<int>("--kick-delay-ms")
{
    Description = "Serve every kick this many milliseconds late: a slow device, to show the suite makes no false finding on one.",
};
var workers = new Option<string>("--workers")
{
    Description = "Threads that serve the rings: 1 (the default) serves messages and rings on one thread per session; N gives the " +
        "rings N threads of their own, pair p's rings on thread (p - 1) mod N; per-pair gives each queue pair its own thread.",
    DefaultValueFactory = _ => "1",
};
var serve = new Command("serve", "Serve the reference multiqueue virtio-net device over vhost-user until SIGINT or SIGTERM.")
{
    socket, pairs, faults, checkRingAddresses, quiet, stats, statsPeriod, recordDriver, kickDelay, client, workers,
};
serve.SetAction(result =>
{
    ReferenceOptions options;
    StatsFile? statsFile;
    try
    {
        var set = (result.GetValue(faults) ?? []).Select(DeviceFaults.Parse).Distinct().ToList();
        var foreign = set.Except(DeviceFaults.InBackend).ToList();
        if (foreign.Count > 0)
            throw new ArgumentException($"fault(s) {string.Join(", ", foreign.Select(f => f.Name()))} live in the device model, not in a back-end; " +
                $"a back-end can have: {string.Join(", ", DeviceFaults.InBackend.Select(f => f.Name()))}");
        options = new ReferenceOptions(result.GetValue(pairs)).WithFaults(set) with
        {
            CheckRingAddresses = result.GetValue(checkRingAddresses),
            KickDelay = TimeSpan.FromMilliseconds(Math.Max(0, result.GetValue(kickDelay))),
            Workers = ParseWorkers(result.GetValue(workers)!),
        };
        statsFile = result.GetValue(stats) is { } path ? new StatsFile(path, TimeSpan.FromSeconds(result.GetValue(statsPeriod))) : null;
    }
    catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    using var stop = new CancellationTokenSource();
    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
    using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
    var verbose = !result.GetValue(quiet);
    using var backend = new VhostUserBackend(result.GetValue(socket)!, options,
        line => { if (verbose || line.Contains("refused") || line.Contains("error")) Console.Out.WriteLine(line); })
    {
        Stats = statsFile,
        DriverRecordPath = result.GetValue(recordDriver) is { } record ? Path.GetFullPath(record) : null,
    };
    var asClient = result.GetValue(client);
    try
    {
        if (asClient) backend.Validate();
        else backend.Listen();
    }
    catch (Exception e) when (e is ArgumentException or IOException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    Console.Out.WriteLine($"ready: {backend.SocketPath}");
    if (asClient) backend.ServeAsClient(stop.Token);
    else backend.Serve(stop.Token);
    // The last session already wrote the file when it ended; this also covers a back-end that served nobody.
    backend.WriteStats("exit");
    backend.WriteDriverRecording();
    Console.Out.WriteLine("stopped");
    return 0;
});

// "per-pair" is 0 in ReferenceOptions.Workers: one thread per queue pair.
static int ParseWorkers(string text) =>
    text == "per-pair" ? 0
    : int.TryParse(text, out var n) && n >= 1 ? n
    : throw new ArgumentException($"--workers takes a number from 1 or per-pair, not '{text}'");

var root = new RootCommand("The virtio-mq-conformance reference device.") { serve };
return root.Parse(args).Invoke();
