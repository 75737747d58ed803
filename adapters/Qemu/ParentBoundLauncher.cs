using System.Collections.Concurrent;
using System.Diagnostics;

namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// Starts child processes that die with the suite. They are started under <c>setpriv --pdeathsig KILL</c>, so the
/// kernel kills them when their parent goes, also on a crash or a kill -9 of the test host. The kernel ties that
/// signal to the parent *thread* that forked, so every start happens on one thread that lives as long as the process.
/// </summary>
internal static class ParentBoundLauncher
{
    private static readonly BlockingCollection<Action> Work = [];

    static ParentBoundLauncher()
    {
        var thread = new Thread(() =>
        {
            foreach (var start in Work.GetConsumingEnumerable()) start();
        })
        { IsBackground = true, Name = "qemu launcher" };
        thread.Start();
    }

    /// <summary>Starts <paramref name="info"/> (its file and arguments are put after <c>setpriv --pdeathsig KILL --</c>).</summary>
    public static Process Start(ProcessStartInfo info)
    {
        var bound = new ProcessStartInfo("setpriv")
        {
            RedirectStandardError = info.RedirectStandardError,
            RedirectStandardOutput = info.RedirectStandardOutput,
            RedirectStandardInput = info.RedirectStandardInput,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--pdeathsig", "KILL", "--", info.FileName }.Concat(info.ArgumentList)) bound.ArgumentList.Add(a);
        foreach (var (k, v) in info.Environment) bound.Environment[k] = v;
        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Work.Add(() =>
        {
            try
            {
                done.SetResult(Process.Start(bound) ?? throw new InvalidOperationException($"could not start {info.FileName}"));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task.GetAwaiter().GetResult();
    }
}
