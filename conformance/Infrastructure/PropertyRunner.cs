using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// Runs an FsCheck property with a seed the suite chose (so it can always print it) and captures the result
/// instead of letting FsCheck print it, so a failure can be reported against its requirement.
/// </summary>
public static class PropertyRunner
{
    /// <param name="afterCase">
    /// Called with the case number as each generated case ends, the failing one included (FsCheck reports no case
    /// while it shrinks): the last call marks the moment the first failure was found, for benchmarks.
    /// </param>
    /// <param name="maxShrinks">
    /// Stop shrinking after this many steps and report the first failing case (for benchmarks: on a device that loses
    /// every frame each shrink step waits out its timeouts). Null, as in every suite run: shrink to the end.
    /// </param>
    /// <param name="known">
    /// Whether a violation is one the expected-results file already lists for this check. Such a failure is reported as
    /// found, not shrunk: its line already says what the device does, and shrinking a known finding on a device that drops
    /// frames waits out timeouts step after step (most of a CI run against testpmd or Open vSwitch).
    /// </param>
    public static PropertyOutcome Run(string name, Property property, SuiteSettings settings, int? cases = null, Action<int>? afterCase = null,
        int? maxShrinks = null, Func<Violation, bool>? known = null)
    {
        // What the check noted about its own run (CheckNotes) joins the outcome's note.
        using var notes = CheckNotes.Begin();
        var outcome = RunChecked(name, property, settings, cases, afterCase, maxShrinks, known);
        return CheckNotes.Take() is { } noted
            ? outcome with { Note = outcome.Note is { } n ? $"{n}; {noted}" : noted }
            : outcome;
    }

    private static PropertyOutcome RunChecked(string name, Property property, SuiteSettings settings, int? cases, Action<int>? afterCase,
        int? maxShrinks, Func<Violation, bool>? known)
    {
        var seed = settings.Seed ?? ((ulong)Random.Shared.NextInt64(), (ulong)Random.Shared.NextInt64() | 1);
        var capture = new CapturingRunner(afterCase, maxShrinks, settings.CheckBudget, known);
        var config = Config.Quick
            .WithName(name)
            .WithMaxTest(cases ?? settings.Cases)
            .WithRunner(capture)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed.Item1, seed.Item2), FSharpOption<int>.None)));
        ThisCase.Take();
        using var patience = Patience.Begin(settings.AfterTimeout);
        using var watch = new ViolationWatch();
        try
        {
            Check.One(config, property);
        }
        catch (ShrinkingStopped)
        {
            return capture.Stopped(name, seed);
        }
        catch (CasesStopped)
        {
            var passed = capture.Passed(name, seed, capture.Cases);
            return passed with { Note = string.Join("; ", new[] { passed.Note, $"stopped after {capture.Cases} case(s): the check's time budget ({settings.CheckBudget.TotalSeconds:0} s) was spent" }.OfType<string>()) };
        }
        return capture.Outcome(name, seed);
    }

    private sealed class ShrinkingStopped : Exception;

    private sealed class CasesStopped : Exception;

    /// <param name="budget">
    /// The time a check may take. Past it, a passing check ends after the case it is in (its outcome says how many
    /// ran), and a failing one stops shrinking and reports the smallest failing case found so far: a slow or
    /// broken device must not hold a run for longer than its budget.
    /// </param>
    private sealed class CapturingRunner(Action<int>? afterCase, int? maxShrinks, TimeSpan budget, Func<Violation, bool>? known) : IRunner
    {
        private bool _knownStop;
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private int _judgedCases;
        // The first SHOULD the device did not meet, in which case: it did not stop that case (see ThisCase.ShouldNotMet).
        private (Violation Violation, string Case, int Number)? _should;
        private readonly Dictionary<string, int> _notApplicable = [];
        public int Cases { get; private set; }
        private TestResult? _result;
        private int _lastCase;
        private Violation? _lastCaseViolation;
        private string? _lastCaseException;
        private string? _lastCaseArgs;
        private string? _lastShrunkArgs;
        private int _shrinks;

        public void OnStartFixture(Type t) { }

        // FsCheck calls this as each case ends, the failing one included, and not while it shrinks.
        public void OnArguments(int ntest, Microsoft.FSharp.Collections.FSharpList<object> args, FSharpFunc<int, FSharpFunc<Microsoft.FSharp.Collections.FSharpList<object>, string>> every)
        {
            _lastCase = ntest;
            Cases = ntest + 1;
            var (judged, notApplicable, should) = ThisCase.Take();
            if (should is not null && _should is null) _should = (should, Describe(args), ntest + 1);
            if (judged > 0) _judgedCases++;
            else if (notApplicable is not null) _notApplicable[notApplicable] = _notApplicable.GetValueOrDefault(notApplicable) + 1;
            // Kept for every case: a case that fails is the last one FsCheck reports before it shrinks.
            _lastCaseViolation = ViolationWatch.TakeNewest();
            _lastCaseException = ViolationWatch.TakeNewestOther();
            _lastCaseArgs = Describe(args);
            afterCase?.Invoke(ntest);
            // A failing case is the last FsCheck reports before it shrinks: a listed finding ends the run here, unshrunk.
            if (_lastCaseViolation is { } v && known?.Invoke(v) == true)
            {
                _knownStop = true;
                throw new ShrinkingStopped();
            }
            // Only after a case that broke no rule: FsCheck shrinks a failing one next, and that must not read as a pass.
            if (_clock.Elapsed > budget && _lastCaseViolation is null) throw new CasesStopped();
        }

        public void OnShrink(Microsoft.FSharp.Collections.FSharpList<object> args, FSharpFunc<Microsoft.FSharp.Collections.FSharpList<object>, string> everyShrink)
        {
            _shrinks++;
            _lastShrunkArgs = Describe(args);
            if (maxShrinks is { } limit && _shrinks >= limit) throw new ShrinkingStopped();
            if (_clock.Elapsed > budget) throw new ShrinkingStopped();
        }

        /// <summary>
        /// The outcome of a run in which no binding rule failed, with the account of what its cases judged. A SHOULD not
        /// met makes it a warning: every case still ran to its end, so the binding rules it names were judged in all of them.
        /// </summary>
        public PropertyOutcome Passed(string name, (ulong, ulong) seed, int cases) => _should is { } w
            ? new PropertyOutcome(name, false, cases, 0, seed, w.Violation, w.Case, w.Case, null)
            {
                JudgedCases = _judgedCases,
                NotApplicable = _notApplicable,
                Completed = true,
                Note = $"found in case {w.Number}, not shrunk: a SHOULD does not stop its case, so every case judged its other rules to the end",
            }
            : new(name, true, cases, 0, seed, null, null, null, null) { JudgedCases = _judgedCases, NotApplicable = _notApplicable };

        /// <summary>The outcome when shrinking was cut short: the first failing case and the rule it broke.</summary>
        public PropertyOutcome Stopped(string name, (ulong, ulong) seed) => _knownStop
            ? new(name, false, _lastCase + 1, 0, seed, _lastCaseViolation, _lastCaseArgs, _lastCaseArgs, null)
            {
                Note = "not shrunk: the expected-results file lists this failure, so the first failing case is reported as found",
            }
            : new(name, false, _lastCase + 1, _shrinks, seed, _lastCaseViolation, _lastShrunkArgs, _lastCaseArgs,
                _lastCaseViolation is null
                    ? $"shrinking stopped after {_shrinks} step(s); the first failing case named no rule" +
                      (_lastCaseException is { } last ? $" (the last exception it met: {last})" : "")
                    : null)
            {
                Note = $"shrinking stopped after {_shrinks} step(s) ({_clock.Elapsed.TotalSeconds:0} s): the counterexample is the last failing one found, " +
                    "not the smallest (the violation is the first failing case's)",
            };
        public void OnFinished(string name, TestResult result) => _result = result;

        public PropertyOutcome Outcome(string name, (ulong, ulong) seed)
        {
            switch (_result)
            {
                case TestResult.Passed p:
                    return Passed(name, seed, p.Item1.NumberOfTests);
                case TestResult.Failed f:
                    var error = f.Item4 is Outcome.Failed of ? of.Item : null;
                    // A wait of the driver, or a value it read, that knows the rule the device broke names it, like a check would.
                    var violation = (error as ConformanceViolationException)?.Violation
                        ?? (error is DeviceProtocolException { RequirementId: { } id } t ? new Violation(id, t.Message) : null);
                    return new PropertyOutcome(name, false, f.Item1.NumberOfTests, f.Item1.NumberOfShrinks, seed, violation,
                        Describe(f.Item3), Describe(f.Item2), violation is null ? error?.ToString() ?? "the property returned false" : null);
                case TestResult.Exhausted e:
                    return new PropertyOutcome(name, false, e.Item.NumberOfTests, 0, seed, null, null, null, "FsCheck gave up: too many generated cases were discarded");
                default:
                    return new PropertyOutcome(name, false, 0, 0, seed, null, null, null, "FsCheck reported no result");
            }
        }

        private static string Describe(Microsoft.FSharp.Collections.FSharpList<object> args) =>
            string.Join(Environment.NewLine, args.Select(a => a?.ToString() ?? "null"));
    }
}

/// <summary>
/// The newest violation thrown on this thread while a check runs, whether a check raised it or the driver found the
/// device breaking a rule (a DeviceProtocolException that names one). FsCheck keeps a case's exception to itself until
/// the run ends, and a runner that stops early still has to say which rule the first failing case broke.
/// </summary>
internal sealed class ViolationWatch : IDisposable
{
    [ThreadStatic] private static Violation? _newest;
    [ThreadStatic] private static string? _newestOther;
    private readonly int _thread = Environment.CurrentManagedThreadId;

    public ViolationWatch()
    {
        _newest = null;
        _newestOther = null;
        AppDomain.CurrentDomain.FirstChanceException += Seen;
    }

    private void Seen(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
    {
        if (Environment.CurrentManagedThreadId != _thread) return;
        if (e.Exception is ConformanceViolationException c) _newest = c.Violation;
        else if (e.Exception is DeviceProtocolException { RequirementId: { } id } d) _newest = new Violation(id, d.Message);
        // Any other exception may be caught where it is thrown; kept only to say what a case that named no rule last met.
        else if (e.Exception is not NUnit.Framework.IgnoreException) _newestOther = $"{e.Exception.GetType().Name}: {e.Exception.Message}";
    }

    /// <summary>Returns and forgets the newest exception of this thread that named no rule, as "Type: message".</summary>
    public static string? TakeNewestOther()
    {
        var e = _newestOther;
        _newestOther = null;
        return e;
    }

    /// <summary>Returns and forgets the newest violation seen on this thread.</summary>
    public static Violation? TakeNewest()
    {
        var v = _newest;
        _newest = null;
        return v;
    }

    public void Dispose() => AppDomain.CurrentDomain.FirstChanceException -= Seen;
}
