using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>A control-queue request as the device parsed it from the device-readable bytes of a chain.</summary>
public readonly record struct ControlCommand(byte Class, byte Command, byte[] Data)
{
    /// <summary>Null when the readable part is too short to hold class and command (§5.1.9.5).</summary>
    public static ControlCommand? Parse(byte[] readable) =>
        readable.Length < NetControl.HeaderSize ? null : new ControlCommand(readable[0], readable[1], readable[NetControl.HeaderSize..]);

    public override string ToString() => $"class {Class} command {Command} ({Data.Length} data bytes)";
}
