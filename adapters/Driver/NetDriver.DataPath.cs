using VirtioMq.Adapters.Devices;
using VirtioMq.Spec;

namespace VirtioMq.Adapters.Driver;

public sealed partial class NetDriver
{
    private readonly List<ReceivedFrame> _received = [];
    // Tags are unique in the process, not per driver: a device that outlives a session (a pooled QEMU, a back-end) may
    // still deliver an earlier session's frames, and those must never pass for this session's.
    private static long s_lastTag;
    // The frames sent with a tag of this driver's, by tag, and the tags already seen come back: every frame the
    // device delivers is judged against what was sent (FrameJudgement), and a tag that comes back twice is a
    // duplicate, whichever check is running.
    private readonly Dictionary<ulong, byte[]> _sentTagged = [];
    private readonly HashSet<ulong> _deliveredTags = [];
    // Frames whose descriptors the driver itself exposed again (see ExposedAgain): a second delivery is not the device's doing.
    private readonly HashSet<ulong> _mayRepeat = [];

    /// <summary>The virtio-net header size on both rings for the features negotiated: 12, or 20 with HASH_REPORT (§5.1.9).</summary>
    public int HeaderSize => NetHeader.SizeFor(Negotiated);

    /// <summary>Frames taken from receive queues and not yet claimed by a caller.</summary>
    public IReadOnlyList<ReceivedFrame> Received => _received;

    /// <summary>Keeps <see cref="DriverOptions.ReceiveBuffersPerQueue"/> receive buffers posted on receiveq <paramref name="pair"/>.</summary>
    public void Replenish(int pair)
    {
        var q = Queue(NetQueueLayout.Receiveq(pair));
        var want = Math.Min(_options.ReceiveBuffersPerQueue, q.Size);
        var added = false;
        while (q.Outstanding < want && q.Add([], [_options.ReceiveBufferBytes], tag: "rx") is not null) added = true;
        if (added) PublishAndKick(q);
    }

    /// <summary>Puts one frame, behind a zeroed virtio-net header, on transmitq <paramref name="pair"/> and kicks.</summary>
    public void Transmit(int pair, byte[] frame)
    {
        var q = Queue(NetQueueLayout.Transmitq(pair));
        ReapTransmitted(q);
        // A zero header: no checksum offload, GSO NONE, num_buffers 0, as §5.1.9.2.1 asks of a driver.
        byte[] buffer = [.. new byte[HeaderSize], .. frame];
        if (q.Add([buffer], [], tag: "tx") is null)
        {
            // Transmit descriptors come back only through the used ring (§2.7.8): a ring that stays full is the device's.
            WaitUntil(() => { ReapTransmitted(q); return q.FreeDescriptors > 0; },
                $"transmitq{pair} to return a used buffer (all {q.Size} descriptors are with the device)", breach: Breach.TransmitBuffersKept);
            q.Add([buffer], [], tag: "tx");
        }
        PublishAndKick(q);
    }

    /// <summary>Sends a tagged frame of <paramref name="flow"/> on transmitq <paramref name="pair"/>; returns its tag.</summary>
    public ulong TransmitTagged(int pair, int flow)
    {
        var tag = (ulong)Interlocked.Increment(ref s_lastTag);
        var frame = TestFrames.Udp(flow, tag);
        _sentTagged[tag] = frame;
        Transmit(pair, frame);
        return tag;
    }

    /// <summary>
    /// Sends a tagged frame on transmitq <paramref name="txPair"/> and reports the receiveq it came back on,
    /// or null if it did not come back within <paramref name="wait"/> (the device's settle time when not given).
    /// </summary>
    public int? SendAndLocate(int txPair, int flow, TimeSpan? wait = null)
    {
        var tag = TransmitTagged(txPair, flow);
        return WaitForFrame(tag, wait)?.Pair;
    }

    /// <summary>
    /// Sends a frame of the caller's making on transmitq <paramref name="txPair"/> and reports the receiveq the
    /// same bytes came back on, or null. For frames that cannot carry a tag (short, or not IPv4/UDP): the caller
    /// makes each one unique.
    /// </summary>
    public int? SendAndLocate(int txPair, byte[] frame, TimeSpan? wait = null) => SendAndReceive(txPair, frame, wait)?.Pair;

    /// <summary>
    /// Sends a frame of the caller's making like <see cref="SendAndLocate(int, byte[], TimeSpan?)"/>, returning the whole received frame with its header
    /// (hash_value and hash_report with HASH_REPORT), or null if it did not come back within <paramref name="wait"/>.
    /// </summary>
    public ReceivedFrame? SendAndReceive(int txPair, byte[] frame, TimeSpan? wait = null)
    {
        Transmit(txPair, frame);
        return WaitForFrame(frame, wait);
    }

    /// <summary>Waits up to <paramref name="wait"/> (the device's settle time when not given) for the frame carrying <paramref name="tag"/>; null if it did not come.</summary>
    public ReceivedFrame? WaitForFrame(ulong tag, TimeSpan? wait = null) => WaitFor(() => Claim(tag), wait);

    /// <summary>Waits up to <paramref name="wait"/> for a frame of the caller's making, found by its bytes; null if it did not come.</summary>
    public ReceivedFrame? WaitForFrame(byte[] frame, TimeSpan? wait = null) => WaitFor(() => Claim(frame), wait);

    private ReceivedFrame? WaitFor(Func<ReceivedFrame?> claim, TimeSpan? wait)
    {
        ReceivedFrame? hit = null;
        TryWaitUntil(() => (hit = claim()) is not null, wait ?? Device.SettleTime);
        return hit;
    }

    /// <summary>
    /// Takes the received frame whose bytes are exactly <paramref name="frame"/>, if it has arrived. Matched on the
    /// whole buffer, so a used length that cuts it short still finds it; that length is then judged
    /// (ring.used.dev.write-len-bytes), since the frame is proof of what the device wrote.
    /// </summary>
    public ReceivedFrame? Claim(byte[] frame)
    {
        var hdr = HeaderSize;
        var hit = Take(r => r.Frame.AsSpan().SequenceEqual(frame)
            || r.Contents.Length >= hdr + frame.Length && r.UsedLength < hdr + frame.Length && r.Contents.AsSpan(hdr, frame.Length).SequenceEqual(frame));
        return LengthChecked(hit, frame.Length, "frame");
    }

    /// <summary>A frame found in its buffer is proof of what the device wrote there: a used length short of it breaks §2.7.8.2.</summary>
    private ReceivedFrame? LengthChecked(ReceivedFrame? hit, int frameLength, string what)
    {
        var written = HeaderSize + frameLength;
        if (hit is not null && hit.UsedLength < written)
            throw new DeviceProtocolException($"used len {hit.UsedLength} on receiveq{hit.Pair}, but the device wrote the {HeaderSize}-byte " +
                $"header and the {frameLength}-byte {what}, {written} bytes")
            { Breach = Breach.UsedLengthShort };
        return hit;
    }

    /// <summary>
    /// Says that the driver has just exposed ring entries it had already used (an available index pushed past the ring,
    /// so stale entries count as new): every frame sent so far may be sent again, and a second delivery of one is no
    /// longer the device's duplicate (net.tx.def.sent-once judges what the driver made available, once).
    /// </summary>
    public void ExposedAgain() => _mayRepeat.UnionWith(_sentTagged.Keys);

    /// <summary>Frames of this driver's that came back so far (claimed or not): whether the device has shown it delivers at all.</summary>
    public int FramesDelivered => _deliveredTags.Count;

    /// <summary>
    /// Takes the received frame carrying <paramref name="tag"/>, if it has arrived. Found in the whole buffer, so a short
    /// used length does not hide it; the length is then judged against the test frame's size.
    /// </summary>
    public ReceivedFrame? Claim(ulong tag)
    {
        var hdr = HeaderSize;
        var hit = Take(r => TestFrames.TagOf(r.Frame) == tag || r.Contents.Length > hdr && TestFrames.TagOf(r.Contents.AsSpan(hdr)) == tag);
        return LengthChecked(hit, TestFrames.Length, $"frame tagged {tag}");
    }

    private ReceivedFrame? Take(Predicate<ReceivedFrame> match)
    {
        CollectReceived();
        var i = _received.FindIndex(match);
        if (i < 0) return null;
        var hit = _received[i];
        _received.RemoveAt(i);
        return hit;
    }

    /// <summary>Drains every set-up receive queue into <see cref="Received"/> and posts fresh buffers.</summary>
    public void CollectReceived()
    {
        for (var p = 1; p <= ConfiguredPairs; p++)
        {
            var vq = NetQueueLayout.Receiveq(p);
            if (!_queues.TryGetValue(vq, out var q)) continue;
            var took = false;
            while (q.TakeUsed() is { } u)
            {
                took = true;
                OnForeignUsed(vq, u);
            }
            if (took) Replenish(p);
        }
    }

    /// <summary>Takes back every used transmit buffer, so each transmitq's driver view is where the device left it.</summary>
    public void ReapAllTransmitted()
    {
        for (var p = 1; p <= ConfiguredPairs; p++)
            if (_queues.TryGetValue(NetQueueLayout.Transmitq(p), out var q)) ReapTransmitted(q);
    }

    /// <summary>Discards every frame received so far, so the next observation starts clean.</summary>
    public void ClearReceived()
    {
        CollectReceived();
        _received.Clear();
    }

    private void ReapTransmitted(DriverVirtqueue q)
    {
        while (q.TakeUsed() is { } u)
            if (!Equals(u.Tag, "tx")) OnForeignUsed(q.Index, u);
    }

    private void OnForeignUsed(int vq, UsedBuffer u)
    {
        if (!Equals(u.Tag, "rx")) return;
        var hdr = Math.Min(HeaderSize, u.Written.Length);
        var received = new ReceivedFrame(vq / 2 + 1, u.Written[..hdr], u.Written[hdr..], u.Length) { Contents = u.Contents, UsedFlags = u.UsedFlags, InOrderSkipped = u.InOrderSkipped };
        // Found by the tag in the whole buffer, so a used length that leaves out the header still finds its frame. A frame
        // spread over several buffers (MRG_RXBUF) is left to the checks that build such rings.
        if (u.Contents.Length > HeaderSize && TestFrames.TagOf(u.Contents.AsSpan(HeaderSize)) is { } tag
            && _sentTagged.TryGetValue(tag, out var sent) && u.Contents.Length >= HeaderSize + sent.Length)
        {
            if (!_deliveredTags.Add(tag) && !_mayRepeat.Contains(tag))
                throw new DeviceProtocolException($"frame duplicated: the frame tagged {tag}, sent once, came back a second time on receiveq{received.Pair}")
                { Breach = Breach.FrameDuplicated };
            if (FrameJudgement.Judge(u.Contents, u.Length, sent, received.Pair, HeaderSize) is { } v)
                throw new DeviceProtocolException(v.Message) { Judgement = v };
            received = received with { Frame = u.Contents[HeaderSize..(HeaderSize + sent.Length)] };
        }
        _received.Add(received);
    }
}
