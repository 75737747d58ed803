using System.CommandLine;
using System.Runtime.InteropServices;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;

// `dotnet run --project reference -- serve --socket PATH --queue-pairs N [--fault NAME]`: the reference
// device as a vhost-user back-end that QEMU, DPDK virtio-user or the suite's own front-end can drive.

var socket = new Option<string>("--socket")
{
    Description = "Unix socket path to listen on (a stale socket file there is replaced).",
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
        string.Join(", ", VhostUserBackend.BackendFaults.Select(f => f.Name())) + ".",
    AllowMultipleArgumentsPerToken = false,
};
var quiet = new Option<bool>("--quiet") { Description = "Log only errors and refused input, not every connection." };

var serve = new Command("serve", "Serve the reference multiqueue virtio-net device over vhost-user until SIGINT or SIGTERM.")
{
    socket, pairs, faults, quiet,
};
serve.SetAction(result =>
{
    ReferenceOptions options;
    try
    {
        var set = (result.GetValue(faults) ?? []).Select(DeviceFaults.Parse).ToHashSet();
        options = new ReferenceOptions(result.GetValue(pairs), set);
    }
    catch (FormatException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    using var stop = new CancellationTokenSource();
    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
    using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
    var verbose = !result.GetValue(quiet);
    using var backend = new VhostUserBackend(result.GetValue(socket)!, options,
        line => { if (verbose || line.Contains("refused") || line.Contains("error")) Console.Out.WriteLine(line); });
    try
    {
        backend.Listen();
    }
    catch (Exception e) when (e is ArgumentException or IOException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    Console.Out.WriteLine($"ready: {backend.SocketPath}");
    backend.Serve(stop.Token);
    Console.Out.WriteLine("stopped");
    return 0;
});

var root = new RootCommand("The virtio-mq-conformance reference device.") { serve };
return root.Parse(args).Invoke();
