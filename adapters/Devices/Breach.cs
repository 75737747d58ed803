namespace VirtioMq.Adapters.Devices;

/// <summary>
/// Wrong answers the suite's driver and front-end can recognise where they happen, named by what the device did.
/// Which rule of the catalogue each one breaks is the suite's business, not the transport's.
/// </summary>
public enum Breach
{
    /// <summary>max_virtqueue_pairs puts a queue past those the transport offers.</summary>
    ConfigLayoutPastQueues,
    /// <summary>The used ring names a head the device does not hold (returned twice, or never made available).</summary>
    UsedIdNotHeld,
    /// <summary>Every descriptor of a transmitq stayed with the device: it returns no transmit buffer.</summary>
    TransmitBuffersKept,
    /// <summary>A delivered frame's used length counts fewer bytes than the device wrote.</summary>
    UsedLengthShort,
    /// <summary>A frame sent once came back twice.</summary>
    FrameDuplicated,
    /// <summary>A vhost-user request sent with need_reply (REPLY_ACK negotiated) got no ack.</summary>
    ReplyAckMissing,
    /// <summary>GET_VRING_BASE got no reply.</summary>
    VringBaseReplyMissing,
    /// <summary>GET_QUEUE_NUM got no reply.</summary>
    QueueNumReplyMissing,
    /// <summary>SET_VRING_BASE refused: the back-end would not resume a ring at the index it was given.</summary>
    ResumeIndexRefused,
    /// <summary>A ring GET_QUEUE_NUM covers had its size or eventfds refused: the back-end does not serve it after all.</summary>
    CoveredRingRefused,
    /// <summary>GET_VRING_BASE on a packed ring got no reply.</summary>
    PackedVringBaseReplyMissing,
    /// <summary>GET_VRING_BASE on a packed ring named a position past the ring's last descriptor in either half: no packed ring base.</summary>
    PackedVringBaseOutsideRing,
    /// <summary>SET_VRING_BASE refused on a packed ring although both positions it gave lie inside the ring.</summary>
    PackedResumeBaseRefused,
    /// <summary>queue_reset never read back 0: the device did not finish (or say it finished) a virtqueue reset.</summary>
    QueueResetNeverCompletes,
    /// <summary>With VIRTIO_F_IN_ORDER, the device returned a buffer after one made available later than it.</summary>
    InOrderUsedOutOfOrder,
    /// <summary>
    /// With VIRTIO_F_IN_ORDER, a batch's used entry (or used descriptor) is not where the batch layout puts it: the device
    /// wrote in an entry or slot the batch skips, or said a batch was used without advancing past it.
    /// </summary>
    InOrderBatchMisplaced,
    /// <summary>On a packed ring, a used descriptor in a list's later slot: the device wrote inside a list instead of skipping it.</summary>
    PackedUsedInsideList,
    /// <summary>On a packed ring, a list's later slot returned used with the list's own Buffer ID: the device read the NEXT-linked list as several buffers.</summary>
    PackedNextIgnored,
}
