using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>What the device under test offers, read once per run so generators can stay within it.</summary>
public sealed record DeviceFacts(FeatureSet Offered, int MaxPairs, IReadOnlyList<string> Capabilities)
{
    /// <summary>Whether the device has capability <typeparamref name="T"/> (adapters/Devices/Capabilities).</summary>
    public bool Has<T>() where T : class => Capabilities.Contains(typeof(T).Name);

    private static readonly Dictionary<string, DeviceFacts> Cache = [];

    /// <summary>Keeps what the run's first look at the device found (ConformanceRun), so no check opens it again for that.</summary>
    public static void Remember(SuiteContext ctx, DeviceFacts facts)
    {
        lock (Cache) Cache[ctx.Device.Text] = facts;
    }

    /// <summary>What is known of the device without opening it: null before anything has read it.</summary>
    public static DeviceFacts? Known(SuiteContext ctx)
    {
        lock (Cache) return Cache.GetValueOrDefault(ctx.Device.Text);
    }

    public static DeviceFacts Of(SuiteContext ctx)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(ctx.Device.Text, out var facts)) return facts;
            using var s = ctx.Open();
            s.Driver.BeginNegotiation();
            facts = new DeviceFacts(s.Driver.Offered, s.Driver.MaxPairs, s.Device.Capabilities.Names);
            s.Driver.Reset();
            return Cache[ctx.Device.Text] = facts;
        }
    }
}
