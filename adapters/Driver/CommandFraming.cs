namespace VirtioMq.Adapters.Driver;

/// <summary>How a control command is laid out in descriptors; a device must accept them all (§2.7.4.1).</summary>
public enum CommandFraming
{
    /// <summary>class, command and data in one readable descriptor, the ack in one writable descriptor.</summary>
    OneReadable,
    /// <summary>class+command in one descriptor, the data in another, the ack in a third (the legacy layout).</summary>
    HeaderDataAck,
    /// <summary>every byte of class, command and data in its own descriptor.</summary>
    Scattered,
    /// <summary>the OneReadable layout inside an indirect table.</summary>
    Indirect,
    /// <summary>the OneReadable layout with a writable buffer of several bytes for the one-byte ack (the device writes the first).</summary>
    RoomyAck,
}
