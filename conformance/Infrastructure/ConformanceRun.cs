using System.Diagnostics;
using System.Globalization;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Reporting;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// One `dotnet test conformance` run from end to end: it reaches the device once before any check (a device that
/// cannot be reached, or a setting that is wrong, is one clear line and a short run), keeps the report on disk after
/// every check (marked incomplete, so a run that is killed still leaves what it judged), and at the end turns the
/// verdict into the run's result: the test run fails exactly when the report gives a reason not to certify that the
/// expected-results file does not list.
/// </summary>
public static class ConformanceRun
{
    private static readonly Stopwatch Clock = new();
    private static RunConditions _conditions = new(Complete: false);
    private static IReadOnlyDictionary<string, string> _identity = new Dictionary<string, string>();
    private static readonly Lock WriteLock = new();
    // The run's budget is per virtqueue format: a run that judges every check in two formats may take twice as long.
    private static int _formats = 1;

    /// <summary>Reaches the device once and reads what it offers; returns why the run cannot go on, or null.</summary>
    public static string? Start()
    {
        Clock.Restart();
        try
        {
            var ctx = SuiteContext.Current;
            (_identity, var mq) = Identify(ctx);
            _formats = ctx.Settings.Rings.Formats(DeviceFacts.Known(ctx)?.Offered.Has(FeatureBit.RingPacked) ?? false).Count;
            _conditions = new RunConditions(Complete: false, MultiqueueOffered: mq, Strict: ctx.Settings.Strict, Selection: ctx.Settings.Rules?.Text);
            DeviceHealth.Baseline(ctx);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or DeviceProtocolException or IOException or InvalidOperationException
                                      or KeyNotFoundException or NotSupportedException or TimeoutException or FileNotFoundException)
        {
            var rule = (e as DeviceProtocolException)?.RequirementId;
            var why = rule is not null ? $"the device broke {rule} on the way in: {e.Message}"
                : e is DeviceProtocolException or IOException or TimeoutException ? $"the device could not be reached: {e.Message}"
                : $"the settings are wrong: {e.Message}";
            _conditions = new RunConditions(Complete: false, Unreachable: why, UnreachableRule: rule);
        }
        RunRecorder.Added += _ => Write(complete: false);
        Write(complete: false);
        return _conditions.Unreachable;
    }

    /// <summary>Why the check about to start must not run: the device is out of reach, or the run's time budget is spent.</summary>
    public static string? CannotStartCheck(SuiteSettings settings) =>
        _conditions.Unreachable
        ?? (Clock.IsRunning && Clock.Elapsed > settings.RunBudget * _formats
            ? $"the run's time budget of {settings.RunBudget.TotalSeconds:0} s ({SuiteSettings.RunBudgetVariable}) per virtqueue format, " +
              $"{(settings.RunBudget * _formats).TotalSeconds:0} s for {_formats}, was spent before its turn"
            : null);

    /// <summary>Writes the final report and returns it; <paramref name="failedTests"/> is NUnit's count of failed tests.</summary>
    public static CertificationReport End(int failedTests)
    {
        var failedChecks = RunRecorder.Snapshot().Count(c => c.Outcome is CheckOutcome.Failed or CheckOutcome.Error or CheckOutcome.UnexpectedPass
            || (c.Outcome == CheckOutcome.Warning && _conditions.Strict));
        _conditions = _conditions with { Complete = true, UntrackedFailures = Math.Max(0, failedTests - failedChecks) };
        return Write(complete: true);
    }

    private static CertificationReport Write(bool complete)
    {
        lock (WriteLock)
        {
            // Settings that could not be read still get a report: it says why, for the version and device as given.
            var (version, device) = Settings() is { } settings
                ? (settings.Version, settings.Device.Text)
                : (SpecVersions.Primary, Environment.GetEnvironmentVariable(SuiteSettings.DeviceVariable) ?? TestContext.Parameters.Get("device") ?? "(unreadable settings)");
            var report = ReportBuilder.Build(RunRecorder.Snapshot(), RequirementCatalogue.Default, version, device,
                _identity, RunRecorder.Started, ReportFiles.SuiteVersion(), ReportFiles.SuiteCommit(),
                run: _conditions with { Complete = complete });
            ReportFiles.Write(report);
            return report;
        }
    }

    private static SuiteSettings? Settings()
    {
        try
        {
            return SuiteContext.Current.Settings;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>What the device says it is, and whether it offers multiqueue.</summary>
    private static (IReadOnlyDictionary<string, string>, bool) Identify(SuiteContext ctx)
    {
        var identity = new SortedDictionary<string, string>(StringComparer.Ordinal);
        using var s = ctx.Open();
        foreach (var (k, v) in s.Device.Identity) identity[k] = v;
        s.Driver.BeginNegotiation();
        identity["offered features"] = $"0x{s.Driver.Offered.Low64:x} {s.Driver.Offered}";
        var negotiated = NetDriver.DefaultRequest.Intersect(s.Driver.Offered);
        identity["negotiated features (suite's request)"] = $"0x{negotiated.Low64:x} {negotiated}";
        identity["max_virtqueue_pairs (config space)"] = s.Driver.MaxPairs.ToString(CultureInfo.InvariantCulture);
        identity["capabilities"] = s.Device.Capabilities.Names.Count == 0 ? "none beyond the transport" : string.Join(", ", s.Device.Capabilities.Names);
        var mq = s.Driver.Offered.Has(FeatureBit.NetMq);
        DeviceFacts.Remember(ctx, new DeviceFacts(s.Driver.Offered, s.Driver.MaxPairs, s.Device.Capabilities.Names));
        s.Driver.Reset();
        return (identity, mq);
    }
}
