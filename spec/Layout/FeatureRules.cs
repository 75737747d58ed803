namespace VirtioMq.Spec;

/// <summary>The feature dependencies of §5.1.3.1 that touch multiqueue, and what makes a driver's subset valid (§2.2.1).</summary>
public static class FeatureRules
{
    /// <summary>Each feature and the features it requires (all of them).</summary>
    public static readonly IReadOnlyDictionary<FeatureBit, FeatureBit[]> Requires = new Dictionary<FeatureBit, FeatureBit[]>
    {
        [FeatureBit.NetMq] = [FeatureBit.NetCtrlVq],
        [FeatureBit.NetRss] = [FeatureBit.NetCtrlVq],
        [FeatureBit.NetCtrlRx] = [FeatureBit.NetCtrlVq],
        [FeatureBit.NetCtrlVlan] = [FeatureBit.NetCtrlVq],
        [FeatureBit.NetGuestAnnounce] = [FeatureBit.NetCtrlVq],
        [FeatureBit.NetCtrlMacAddr] = [FeatureBit.NetCtrlVq],
        [FeatureBit.NetNotfCoal] = [FeatureBit.NetCtrlVq],
        [FeatureBit.NetVqNotfCoal] = [FeatureBit.NetCtrlVq],
        [FeatureBit.NetRssContext] = [FeatureBit.NetCtrlVq, FeatureBit.NetRss],
    };

    /// <summary>The first dependency the set breaks, or null when it is closed under <see cref="Requires"/>.</summary>
    public static (FeatureBit Feature, FeatureBit Missing)? FirstUnsatisfied(FeatureSet set)
    {
        foreach (var (feature, needs) in Requires)
            if (set.Has(feature))
                foreach (var need in needs)
                    if (!set.Has(need)) return (feature, need);
        return null;
    }

    /// <summary>A subset a driver may accept: offered by the device and closed under the dependencies.</summary>
    public static bool IsValidDriverSubset(FeatureSet accepted, FeatureSet offered) =>
        accepted.IsSubsetOf(offered) && FirstUnsatisfied(accepted) is null;
}
