using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Rules;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;

namespace VirtioMq.Tests.FaultDetection;

/// <summary>
/// A device that is slow is not a device that is wrong. The healthy reference back-end, served over a real socket,
/// is made slow two ways: every kick answered late by close to the settle time the suite gives a device before it
/// judges that nothing came (25 ms), and the whole machine kept busy by threads that spin on every core. Every
/// check that judges a back-end must still pass: a MUST failure here would be a false finding.
/// </summary>
/// <remarks>
/// The machine under load keeps every core busy, so it runs alone. The late kicks run beside other fixtures: the check
/// spends its ~55 s waiting for a back-end thread that sleeps 20 ms a kick, not on a core, and other tests' load only makes
/// the device slower still, which is what it is for.
/// </remarks>
[TestFixture, NonParallelizable]
public sealed class SlowDeviceTests
{
    private static IEnumerable<SuiteCheck> BackendChecks() =>
        SuiteChecks.All.Where(c => c.JudgesBackEnds);

    [Test]
    public void The_healthy_back_end_passes_every_check_on_a_machine_under_load() =>
        AssertEveryCheckPasses(new ReferenceOptions(ZooDevice.Pairs), load: true, cases: 20);

    /// <param name="cases">At most this many cases a check: enough to meet every path of each check (every variant is in
    /// each case), in a time tests/ can afford; a slow device makes every case slow.</param>
    internal static void AssertEveryCheckPasses(ReferenceOptions options, bool load, int cases)
    {
        using var backend = new RunningBackend(RunningBackend.NewSocketPath("slow"), options);
        var ctx = TestContexts.For($"vhost-user://{backend.SocketPath}?pairs={ZooDevice.Pairs}", cases: 20);
        using var busy = load ? new BusyCores() : null;
        var findings = new List<string>();
        var judged = 0;
        var notApplicable = new List<string>();
        foreach (var check in BackendChecks())
        {
            PropertyOutcome outcome;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                outcome = PropertyRunner.Run(check.Test, check.Property(ctx), ctx.Settings, Math.Min(check.Cases, cases));
            }
            catch (IgnoreException e)
            {
                // A check that does not apply to this device (RSS on a back-end without it) says so by ignoring its test;
                // here that must end that check alone, not the loop over the others.
                notApplicable.Add($"{check.Test}: {e.Message}");
                continue;
            }
            judged++;
            TestContext.Progress.WriteLine($"{check.Test}: {outcome.Cases} case(s), {clock.Elapsed.TotalSeconds:0.00} s");
            if (!outcome.Passed) findings.Add(FailureReport.Format(outcome, ctx.Settings, check.Test));
        }
        Assert.Multiple(() =>
        {
            Assert.That(findings, Is.Empty, () => string.Join("\n\n", findings) + "\nback-end log:\n" + string.Join("\n", backend.LogLines.TakeLast(20)));
            Assert.That(judged, Is.GreaterThan(notApplicable.Count), $"checks judged; not applicable: {string.Join("; ", notApplicable)}");
        });
        TestContext.Progress.WriteLine($"{judged} check(s) judged; not applicable: {notApplicable.Count}");
    }

    /// <summary>One thread spinning per core, at normal priority, until disposed: a machine with no idle time.</summary>
    private sealed class BusyCores : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread[] _threads;

        public BusyCores()
        {
            _threads = [.. Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(Spin) { IsBackground = true })];
            foreach (var t in _threads) t.Start();
        }

        private void Spin()
        {
            var x = 0UL;
            while (!_stop.IsCancellationRequested) x = x * 6364136223846793005UL + 1;
            GC.KeepAlive(x);
        }

        public void Dispose()
        {
            _stop.Cancel();
            foreach (var t in _threads) t.Join();
            _stop.Dispose();
        }
    }
}

/// <summary>The late-kick half of <see cref="SlowDeviceTests"/>, in a fixture of its own so it may run beside others (see its remarks).</summary>
[TestFixture, Parallelizable(ParallelScope.Self)]
public sealed class LateKickTests
{
    [Test]
    public void A_back_end_that_answers_each_kick_late_passes_every_check() =>
        SlowDeviceTests.AssertEveryCheckPasses(new ReferenceOptions(ZooDevice.Pairs) { KickDelay = TimeSpan.FromMilliseconds(20) }, load: false, cases: 2);
}
