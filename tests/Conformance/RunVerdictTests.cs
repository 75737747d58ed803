using System.Diagnostics;
using System.Text.Json;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Conformance;

/// <summary>
/// The suite as its users run it: `dotnet test conformance` in its own process, judged by its exit code and the
/// report.json it leaves. The exit code and the report's verdict must agree in every case (a device that breaks a
/// binding rule, a healthy one, a device nobody serves, a wrong setting), and a run stopped in the middle still
/// leaves a report marked incomplete.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class RunVerdictTests
{
    private static readonly string Root = RepositoryRoot.Path;
    private string _reports = "";

    [SetUp]
    public void MakeFolder() => _reports = Directory.CreateTempSubdirectory("vmq-verdict-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_reports, recursive: true);

    private const string Mapping = "FullyQualifiedName~QueueMappingTests.Frames_come_back_only_on_enabled_receive_queues";

    [Test]
    public void An_acked_pair_that_loses_frames_fails_the_run_and_the_report()
    {
        var run = Run("reference://?pairs=4&fault=drops-top-pair", Mapping);
        var report = Report();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Not.Zero, run.Output);
            Assert.That(report.GetProperty("certified").GetBoolean(), Is.False);
            Assert.That(report.GetProperty("runFails").GetBoolean(), Is.True);
            Assert.That(report.GetProperty("mustFailures").EnumerateArray().Select(e => e.GetString()), Does.Contain(Rule.NetMqDefVqPairsSet));
            // Pair 1 still carries frames after the finding: the device is not taken for broken.
            Assert.That(run.Output, Does.Not.Contain("left broken"));
        });
    }

    [Test]
    public void The_check_that_drives_more_pairs_than_the_URI_names_runs_last()
    {
        // GET_QUEUE_NUM's check may leave a back-end broken (OVS loses its port), so nothing may run after it. The report
        // lists checks in the order they ran; the vhost-user checks are quick here (not applicable in-process).
        Run("reference://?pairs=4", "TestCategory=vhost-user|Name=Every_transmit_buffer_comes_back_used");
        var order = Report().GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("test").GetString()).ToList();
        Assert.That(order, Has.Count.GreaterThan(2));
        Assert.That(order[^1], Is.EqualTo(VirtioMq.Conformance.Rules.VhostUserServedPairsTests.QueueNum.Test), string.Join(", ", order));
    }

    [Test]
    public void A_device_that_never_carried_a_frame_is_judged_check_by_check()
    {
        // Receive and transmit swapped: no frame ever comes back, from the first session on. Nothing was working to be
        // broken, so every check judges it on its own rule and none is left unrun.
        var run = Run("reference://?pairs=4&fault=swap-rx-tx", $"{Mapping}|Name=Used_descriptors_say_whether_and_how_much_the_device_wrote");
        var report = Report();
        var outcomes = report.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("outcome").GetString()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Not.Zero, run.Output);
            Assert.That(outcomes, Has.Some.EqualTo("failed").And.None.EqualTo("not-run"), report.ToString());
            Assert.That(run.Output, Does.Not.Contain("left broken"));
        });
    }

    [Test]
    public void The_healthy_reference_passes_the_run_and_is_certified()
    {
        var run = Run("reference://?pairs=4", Mapping);
        var report = Report();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.Output);
            Assert.That(report.GetProperty("certified").GetBoolean(), Is.True, report.ToString());
            Assert.That(report.GetProperty("complete").GetBoolean(), Is.True);
        });
    }

    [Test]
    public void A_device_without_multiqueue_is_not_certified_and_no_check_passes_without_judging()
    {
        var run = Run("reference://?pairs=4&mq=off", filter: null);
        var report = Report();
        var checks = report.GetProperty("checks").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Not.Zero, run.Output);
            Assert.That(report.GetProperty("notCertifiedBecause").EnumerateArray().Select(b => b.GetProperty("kind").GetString()),
                Is.EqualTo(new[] { "no-multiqueue" }), report.GetProperty("notCertifiedBecause").ToString());
            // The multiqueue checks have nothing to judge on it: not applicable, with the reason, never a pass.
            // In every virtqueue format it ran in.
            Assert.That(checks.Where(c => c.GetProperty("test").GetString() == "Every_pair_count_from_1_to_max_is_accepted_and_usable")
                .Select(c => c.GetProperty("outcome").GetString()), Is.Not.Empty.And.All.EqualTo("not-applicable"));
        });
    }

    [Test]
    public void A_device_one_check_breaks_for_good_is_not_blamed_on_the_checks_after_it()
    {
        // The index-wrap check starts rings at 65535, which breaks this back-end for every later session; the
        // used-length check runs after it and would fail on its own rule if the suite did not notice.
        using var backend = new RunningBackend(RunningBackend.NewSocketPath("broken"), new ReferenceOptions(4, [new BrokenForGood()]));
        const string wrap = "Receive_and_transmit_rings_keep_working_across_the_index_wrap";
        const string later = "Used_descriptors_say_whether_and_how_much_the_device_wrote";
        var run = Run($"vhost-user://{backend.SocketPath}?pairs=4&timeout-ms=500", $"Name={wrap}|Name={later}");
        var report = Report();
        var checks = report.GetProperty("checks").EnumerateArray().ToList();
        string[] Outcomes(string test) => checks.Where(c => c.GetProperty("test").GetString() == test).Select(c => c.GetProperty("outcome").GetString()!).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Not.Zero, run.Output);
            Assert.That(Outcomes(wrap), Does.Contain("failed"), report.ToString());
            Assert.That(run.Output, Does.Contain("The device was left broken"));
            Assert.That(Outcomes(later), Is.EqualTo(new[] { "not-run" }), report.ToString());
            Assert.That(report.GetProperty("notCertifiedBecause").EnumerateArray().Select(b => b.GetProperty("text").GetString()),
                Has.Some.Contains($"after {wrap} the device carried no frame in a fresh session"));
        });
    }

    [Test]
    public void A_device_nobody_serves_is_one_line_and_a_short_run()
    {
        var socket = Path.Combine(_reports, "nobody.sock");
        var clock = Stopwatch.StartNew();
        var run = Run($"vhost-user://{socket}?pairs=2&connect-timeout=500", filter: null);
        var report = Report();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Not.Zero, run.Output);
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(90)), "every check waited out its own connect timeout");
            Assert.That(report.GetProperty("notCertifiedBecause")[0].GetProperty("kind").GetString(), Is.EqualTo("unreachable"));
            Assert.That(Lines(run.Output, "could not be reached"), Is.LessThanOrEqualTo(3), run.Output);
            Assert.That(run.Output, Does.Not.Contain("Failed:     2"), "one failure for the whole run, not one per check");
        });
    }

    [TestCase("reference://?pairs=4&fault=no-such-fault", null, "no-such-fault")]
    [TestCase("nosuch:///x.sock", null, "nosuch")]
    [TestCase("reference://?pairs=4", "9.9", "9.9")]
    public void A_wrong_setting_is_one_line_and_a_short_run(string device, string? spec, string named)
    {
        var run = Run(device, filter: null, spec);
        var report = Report();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Not.Zero, run.Output);
            Assert.That(report.GetProperty("notCertifiedBecause")[0].GetProperty("text").GetString(), Does.Contain(named));
            Assert.That(run.Output, Does.Not.Contain("Failed:     2"), "one failure for the whole run, not one per check");
        });
    }

    [Test]
    public void A_run_killed_midway_leaves_a_report_marked_incomplete()
    {
        using var process = Start("reference://?pairs=8", filter: null);
        var json = Path.Combine(_reports, "report.json");
        var clock = Stopwatch.StartNew();
        // Wait for the first checks to be on disk, then kill the whole run, test host included.
        while (clock.Elapsed < TimeSpan.FromSeconds(120) && !(File.Exists(json) && Checks(json) >= 3)) Thread.Sleep(200);
        process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
        var report = Report();
        Assert.Multiple(() =>
        {
            Assert.That(report.GetProperty("complete").GetBoolean(), Is.False);
            Assert.That(report.GetProperty("certified").GetBoolean(), Is.False, "a run that did not end certifies nothing");
            Assert.That(report.GetProperty("checks").GetArrayLength(), Is.GreaterThanOrEqualTo(3));
        });
    }

    private static int Checks(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            return doc.RootElement.GetProperty("checks").GetArrayLength();
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return 0;
        }
    }

    private static int Lines(string output, string text) => output.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));

    private JsonElement Report()
    {
        var path = Path.Combine(_reports, "report.json");
        Assert.That(File.Exists(path), Is.True, $"no report at {path}");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    private (int ExitCode, string Output) Run(string device, string? filter, string? spec = null)
    {
        using var process = Start(device, filter, spec);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet test conformance against {device} had not ended after 4 minutes");
        }
        return (process.ExitCode, output.Result + error.Result);
    }

    private Process Start(string device, string? filter, string? spec = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "test", Path.Combine(Root, "conformance"), "--no-build" }) start.ArgumentList.Add(a);
        if (filter is not null) { start.ArgumentList.Add("--filter"); start.ArgumentList.Add(filter); }
        // The outer run's settings (CI's report folder, an expected-results file) are not this run's.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("VIRTIO_", StringComparison.Ordinal)).ToList()) start.Environment.Remove(key);
        start.Environment["VIRTIO_DEVICE"] = device;
        start.Environment["VIRTIO_REPORT_DIR"] = _reports;
        start.Environment["VIRTIO_CASES"] = "20";
        if (spec is not null) start.Environment["VIRTIO_SPEC"] = spec;
        return Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
    }

}
