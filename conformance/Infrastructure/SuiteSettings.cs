using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// What a run is pointed at and how hard it tries. Each setting comes from an environment variable or, in
/// its place, a .runsettings TestRunParameter; the environment wins so CI can override a settings file.
/// </summary>
/// <param name="Strict">
/// SHOULD and robustness findings fail their test too, instead of ending it as a warning. The report still files
/// them as warnings: strictness changes what a test run says, not the verdict rule. Mutation testing
/// (mutation/run.sh) uses it, since a mutant that only a SHOULD catches is caught all the same.
/// </param>
/// <remarks>CheckBudget: the longest one check may take: past it, no new case starts and shrinking stops (see PropertyRunner). RunBudget: the longest a whole run
/// may take: a check whose turn comes later is not run, and the report says so.</remarks>
public sealed record SuiteSettings(DeviceUri Device, SpecVersion Version, int Cases, (ulong Seed, ulong Gamma)? Seed, TimeSpan Timeout,
    KnownFindings? Expected = null, bool Strict = false)
{
    public TimeSpan CheckBudget { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan RunBudget { get; init; } = TimeSpan.FromSeconds(270);

    /// <summary>
    /// Only the checks that name these rules run (<c>VIRTIO_RULES=net.mq.*</c>), as h2spec runs one section: a partial run,
    /// whose report never certifies, and whose unchosen checks are skipped without counting against the device.
    /// </summary>
    public RuleSelection? Rules { get; init; }

    /// <summary>The virtqueue formats each check runs in (<see cref="RingChoices.Variable"/>).</summary>
    public RingChoice Rings { get; init; } = RingChoice.Both;

    /// <summary>What a wait is cut to once the device has timed out in a check (see <see cref="Patience"/>).</summary>
    public TimeSpan AfterTimeout => Timeout < Patience.DefaultAfterTimeout ? Timeout : Patience.DefaultAfterTimeout;

    public const string CheckBudgetVariable = "VIRTIO_CHECK_BUDGET_S";
    public const string RunBudgetVariable = "VIRTIO_RUN_BUDGET_S";
    public const string DeviceVariable = "VIRTIO_DEVICE";
    public const string SpecVariable = "VIRTIO_SPEC";
    public const string CasesVariable = "VIRTIO_CASES";
    public const string SeedVariable = "VIRTIO_SEED";
    public const string TimeoutVariable = "VIRTIO_TIMEOUT_MS";
    public const string ExpectedVariable = "VIRTIO_EXPECTED";
    public const string StrictVariable = "VIRTIO_STRICT";
    public const string RulesVariable = "VIRTIO_RULES";

    public static SuiteSettings Current => _current ??= FromEnvironment();
    private static SuiteSettings? _current;

    public static SuiteSettings FromEnvironment(Func<string, string?>? parameter = null)
    {
        parameter ??= name => TestContext.Parameters.Get(name);
        string? Get(string variable, string runParameter) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v ? v : parameter(runParameter);
        return new SuiteSettings(
            DeviceUri.Parse(Get(DeviceVariable, "device") ?? DeviceUri.DefaultText),
            Get(SpecVariable, "spec") is { } s ? SpecVersions.Parse(s) : SpecVersions.Primary,
            Get(CasesVariable, "cases") is { } c ? int.Parse(c, System.Globalization.CultureInfo.InvariantCulture) : 100,
            Get(SeedVariable, "seed") is { } seed ? ParseSeed(seed) : null,
            TimeSpan.FromMilliseconds(Get(TimeoutVariable, "timeout-ms") is { } t ? int.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : 5000),
            KnownFindings.Load(Get(ExpectedVariable, "expected")),
            Get(StrictVariable, "strict") is { } strict && strict is "1" or "true")
        {
            CheckBudget = Get(CheckBudgetVariable, "check-budget-s") is { } cb ? Seconds(CheckBudgetVariable, cb) : TimeSpan.FromSeconds(20),
            RunBudget = Get(RunBudgetVariable, "run-budget-s") is { } rb ? Seconds(RunBudgetVariable, rb) : TimeSpan.FromSeconds(270),
            Rings = Get(RingChoices.Variable, "ring") is { } ring ? RingChoices.Parse(ring) : RingChoice.Both,
            Rules = Get(RulesVariable, "rules") is { } rules ? RuleSelection.Parse(rules) : null,
        };
    }

    private static TimeSpan Seconds(string variable, string text) =>
        int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : throw new FormatException($"{variable}='{text}' is not a number of seconds above 0");

    /// <summary>Parses FsCheck's "(seed,gamma)" form, which is what failure messages print.</summary>
    public static (ulong, ulong) ParseSeed(string text)
    {
        var parts = text.Trim().Trim('(', ')').Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !ulong.TryParse(parts[0], out var s) || !ulong.TryParse(parts[1], out var g))
            throw new FormatException($"'{text}' is not a seed; expected '(seed,gamma)' as printed by a failing run");
        return (s, g);
    }
}
