using VirtioMq.Adapters.Devices;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// Whether the device still works in a fresh session after a check found something. A back-end process, a switch or a
/// pooled QEMU outlives the session a check opened, and one check can leave it broken for good (Open vSwitch removes its
/// port when it cannot size its buffers for the pairs a front-end set up): every check after it would then fail on its
/// own rule, blamed for what an earlier one did. So the run sends one frame through pair 1 of a fresh session at the
/// start (the baseline), and again after each check that did not pass; a device that carried it at the start and no
/// longer does is lost, the check that lost it says so, and the checks after it are not run (the report then does not
/// certify: nothing showed they hold). A device that carried no frame at the start is not watched: its checks judge it
/// one by one, as before.
/// </summary>
public static class DeviceHealth
{
    // One frame can be lost on its own (a switch that drops the first frame after a session starts); three in a row are not.
    private const int Frames = 3;
    private static bool _watching;
    private static string? _lost;

    /// <summary>Why no further check can judge the device, or null while it works.</summary>
    public static string? Lost => _lost;

    /// <summary>Sends the baseline frame; the device is watched only if it comes back.</summary>
    public static void Baseline(SuiteContext ctx) => _watching = Probe(ctx) is null;

    /// <summary>
    /// After <paramref name="test"/> did not pass: whether the device still carries a frame in a fresh session. Returns
    /// what to add to that check's result when it no longer does, or null.
    /// </summary>
    public static string? AfterFinding(SuiteContext ctx, string test)
    {
        if (!_watching || _lost is not null) return null;
        if (Probe(ctx) is not { } why) return null;
        _lost = $"after {test} the device carried no frame in a fresh session ({why}), where it did at the start of the run: " +
            "it was left broken, so the checks after it were not run";
        return $"The device was left broken: after this check {why} in a fresh session with one pair, where it carried a frame at the " +
            "start of the run. Later checks are not run; this check's last cases may show the broken state rather than its rule.";
    }

    /// <summary>One fresh session, pair 1, up to <see cref="Frames"/> frames: null if one came back, else what went wrong.</summary>
    private static string? Probe(SuiteContext ctx)
    {
        try
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.Initialize(pairs: 1);
            for (var i = 0; i < Frames; i++)
                if (d.SendAndLocate(1, flow: 1, d.Options.Timeout) is not null)
                    return null;
            return $"none of {Frames} frames sent on transmitq1 came back within {d.Options.Timeout.TotalMilliseconds:0} ms each";
        }
        catch (Exception e) when (e is DeviceProtocolException or IOException or TimeoutException or InvalidOperationException
                                      or ConformanceViolationException)
        {
            return $"the session failed: {e.Message}";
        }
    }
}
