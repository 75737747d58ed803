using VirtioMq.Spec;

namespace VirtioMq.Reference.Net;

/// <summary>A control-queue request as the device parsed it from the device-readable bytes of a chain.</summary>
public readonly record struct ControlCommand(byte Class, byte Command, byte[] Data)
{
    /// <summary>Null when the readable part is too short to hold class and command (§5.1.9.5).</summary>
    // Stryker disable once Equality : equivalent in this device: every command it carries out has data, so one of exactly class + command is answered ERR either way
    public static ControlCommand? Parse(byte[] readable) =>
        readable.Length < NetControl.HeaderSize ? null : new ControlCommand(readable[0], readable[1], readable[NetControl.HeaderSize..]);

    // Stryker disable once all : diagnostics text for the device's log
    public override string ToString() => $"class {Class} command {Command} ({Data.Length} data bytes)";
}
