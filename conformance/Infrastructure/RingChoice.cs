using VirtioMq.Spec;

namespace VirtioMq.Conformance.Infrastructure;

/// <summary>
/// Which virtqueue formats a run judges each check in (VIRTIO_RING or the runsettings parameter <c>ring</c>): split,
/// packed, or both. A device runs other code for each format's rings, so a rule can hold in one and break in the other;
/// the report gives each verdict its format.
/// </summary>
public enum RingChoice
{
    /// <summary>Split always; packed too when the device offers VIRTIO_F_RING_PACKED. The default.</summary>
    Both,
    Split,
    Packed,
}

public static class RingChoices
{
    public const string Variable = "VIRTIO_RING";

    public static RingChoice Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "both" => RingChoice.Both,
        "split" => RingChoice.Split,
        "packed" => RingChoice.Packed,
        _ => throw new FormatException($"{Variable}='{text}' is not a ring format; use split, packed or both"),
    };

    /// <summary>The formats a check runs in: with <see cref="RingChoice.Both"/>, packed only on a device that offers it.</summary>
    public static IReadOnlyList<RingFormat> Formats(this RingChoice choice, bool packedOffered) => choice switch
    {
        RingChoice.Split => [RingFormat.Split],
        RingChoice.Packed => [RingFormat.Packed],
        _ => packedOffered ? [RingFormat.Split, RingFormat.Packed] : [RingFormat.Split],
    };

    /// <summary>The word the report and the expected-results file use for a format.</summary>
    public static string Label(this RingFormat format) => format == RingFormat.Packed ? "packed" : "split";
}
