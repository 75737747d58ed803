using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// What the case now running has judged. A case that compared the device with a rule says so (every
/// <see cref="Expect"/> does it for the case); a case that found nothing to judge on this device says why with
/// <see cref="NotApplicable"/> before it returns. The runner reads the account after each case: a check none of
/// whose cases judged anything did not pass, it was not applicable (with the reasons given) or it is a bug of the
/// suite (no reason given). Without this a check that returns early on a device without multiqueue reads "pass".
/// </summary>
public static class ThisCase
{
    // FsCheck runs a property's cases one after another on the caller's thread.
    [ThreadStatic] private static int _judged;
    [ThreadStatic] private static string? _notApplicable;
    [ThreadStatic] private static Violation? _should;

    /// <summary>The case compared the device's behaviour with a rule (whatever the outcome).</summary>
    public static void Judged() => _judged++;

    /// <summary>The case could not judge anything on this device: the feature, pair count or transport it needs is absent.</summary>
    public static void NotApplicable(string reason) => _notApplicable ??= reason;

    /// <summary>
    /// A SHOULD (or SHOULD NOT) the device did not meet: noted, and the case goes on, so the binding rules it judges
    /// after that point are still judged. A SHOULD that stopped its case would leave them unjudged, and the device
    /// could then be certified on nothing, or refused certification for a finding that does not deny it.
    /// </summary>
    public static void ShouldNotMet(Violation v) => _should ??= v;

    /// <summary>Returns and forgets the account of the case that just ended.</summary>
    public static (int Judged, string? NotApplicable, Violation? Should) Take()
    {
        var account = (_judged, _notApplicable, _should);
        _judged = 0;
        _notApplicable = null;
        _should = null;
        return account;
    }
}
