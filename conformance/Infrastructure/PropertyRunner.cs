using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
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
    public static PropertyOutcome Run(string name, Property property, SuiteSettings settings, int? cases = null, Action<int>? afterCase = null,
        int? maxShrinks = null)
    {
        var seed = settings.Seed ?? ((ulong)Random.Shared.NextInt64(), (ulong)Random.Shared.NextInt64() | 1);
        var capture = new CapturingRunner(afterCase, maxShrinks);
        var config = Config.Quick
            .WithName(name)
            .WithMaxTest(cases ?? settings.Cases)
            .WithRunner(capture)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed.Item1, seed.Item2), FSharpOption<int>.None)));
        try
        {
            Check.One(config, property);
        }
        catch (ShrinkingStopped)
        {
            return capture.Stopped(name, seed);
        }
        return capture.Outcome(name, seed);
    }

    private sealed class ShrinkingStopped : Exception;

    private sealed class CapturingRunner(Action<int>? afterCase, int? maxShrinks) : IRunner
    {
        private TestResult? _result;
        private int _lastCase;
        private Violation? _lastCaseViolation;
        private string? _lastCaseArgs;
        private string? _lastShrunkArgs;
        private int _shrinks;

        public void OnStartFixture(Type t) { }

        // FsCheck calls this as each case ends, the failing one included, and not while it shrinks.
        public void OnArguments(int ntest, Microsoft.FSharp.Collections.FSharpList<object> args, FSharpFunc<int, FSharpFunc<Microsoft.FSharp.Collections.FSharpList<object>, string>> every)
        {
            _lastCase = ntest;
            if (maxShrinks is not null)
            {
                _lastCaseViolation = ConformanceViolationException.TakeNewest();
                _lastCaseArgs = Describe(args);
            }
            afterCase?.Invoke(ntest);
        }

        public void OnShrink(Microsoft.FSharp.Collections.FSharpList<object> args, FSharpFunc<Microsoft.FSharp.Collections.FSharpList<object>, string> everyShrink)
        {
            _shrinks++;
            if (maxShrinks is not { } limit) return;
            _lastShrunkArgs = Describe(args);
            if (_shrinks >= limit) throw new ShrinkingStopped();
        }

        /// <summary>The outcome when shrinking was cut short: the first failing case and the rule it broke.</summary>
        public PropertyOutcome Stopped(string name, (ulong, ulong) seed) =>
            new(name, false, _lastCase + 1, _shrinks, seed, _lastCaseViolation, _lastShrunkArgs, _lastCaseArgs,
                _lastCaseViolation is null ? $"shrinking stopped after {_shrinks} step(s); the first failing case named no rule" : null);
        public void OnFinished(string name, TestResult result) => _result = result;

        public PropertyOutcome Outcome(string name, (ulong, ulong) seed)
        {
            switch (_result)
            {
                case TestResult.Passed p:
                    return new PropertyOutcome(name, true, p.Item1.NumberOfTests, 0, seed, null, null, null, null);
                case TestResult.Failed f:
                    var error = f.Item4 is Outcome.Failed of ? of.Item : null;
                    // A wait of the driver that knows the rule its timeout breaks names it, like a check would.
                    var violation = (error as ConformanceViolationException)?.Violation
                        ?? (error is DeviceTimeoutException { RequirementId: { } id } t ? new Violation(id, t.Message) : null);
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
