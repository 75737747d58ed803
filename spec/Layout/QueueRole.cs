namespace VirtioMq.Spec;

public enum QueueRole
{
    Receive,
    Transmit,
    Control,
    /// <summary>An index the negotiated layout does not define.</summary>
    None,
}

/// <summary>What one virtqueue index is: a receiveq or transmitq of pair <see cref="Pair"/> (1-based), or the controlq.</summary>
public readonly record struct QueueIdentity(QueueRole Role, int Pair)
{
    public override string ToString() => Role switch
    {
        QueueRole.Receive => $"receiveq{Pair}",
        QueueRole.Transmit => $"transmitq{Pair}",
        QueueRole.Control => "controlq",
        _ => "undefined",
    };
}
