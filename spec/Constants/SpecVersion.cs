namespace VirtioMq.Spec;

/// <summary>The OASIS virtio specification revisions a run can certify against. 1.4 is the primary one.</summary>
public enum SpecVersion
{
    V1_0 = 10,
    V1_1 = 11,
    V1_2 = 12,
    V1_3 = 13,
    V1_4 = 14,
}

public static class SpecVersions
{
    public const SpecVersion Primary = SpecVersion.V1_4;

    public static SpecVersion Parse(string text) => text.Trim().TrimStart('v', 'V') switch
    {
        "1.0" => SpecVersion.V1_0,
        "1.1" => SpecVersion.V1_1,
        "1.2" => SpecVersion.V1_2,
        "1.3" => SpecVersion.V1_3,
        "1.4" => SpecVersion.V1_4,
        _ => throw new FormatException($"unknown virtio spec version '{text}' (expected one of 1.0, 1.1, 1.2, 1.3, 1.4)"),
    };

    public static string Label(this SpecVersion v) => $"{(int)v / 10}.{(int)v % 10}";
}
