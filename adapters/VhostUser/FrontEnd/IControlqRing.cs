namespace VirtioMq.Adapters.VhostUser.FrontEnd;

/// <summary>
/// The device side of the controlq in either virtqueue format: <see cref="SplitControlqRing"/> (§2.7) or, with
/// VIRTIO_F_RING_PACKED, <see cref="PackedControlqRing"/> (§2.8). The front-end serves the controlq itself over
/// vhost-user; the two formats share this contract and no ring code.
/// </summary>
internal interface IControlqRing
{
    /// <summary>No command the front-end knows is longer; the rest of an oversized one is not read.</summary>
    const int MaxCommandBytes = 4096;

    /// <summary>Set once the driver put the ring in a state nothing can be taken from until a reset.</summary>
    bool Broken { get; }

    /// <summary>
    /// The next well-formed chain, or null when the ring is empty or broken. A malformed chain is given back used
    /// with length 0 and reported to <paramref name="refused"/>, so one bad chain never stops the controlq.
    /// </summary>
    ControlRequest? Take(Action<string> refused);

    /// <summary>Gives a chain <see cref="Take"/> returned back used, with <paramref name="written"/> bytes written.</summary>
    void GiveBack(ControlRequest request, uint written);

    /// <summary>Whether the chains given back since the last call owe the driver a used buffer notification.</summary>
    bool TakeNotificationOwed();
}
