using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>What the back-end does with each front-end request.</summary>
public sealed partial class BackendSession
{
    /// <summary>Handles one request; false means "failed" for REPLY_ACK. Throws on a malformed payload.</summary>
    private bool Handle(VhostUserMessage m)
    {
        switch (m.Request)
        {
            case VhostUserRequest.SetOwner:
                return true;
            case VhostUserRequest.GetFeatures:
                _channel.Send(m.ReplyWith(Payload.U64(Offered.Low64)));
                return true;
            case VhostUserRequest.SetFeatures:
                return SetFeatures(FeatureSet.FromLow64(Payload.ReadU64(m)));
            case VhostUserRequest.GetProtocolFeatures:
                _channel.Send(m.ReplyWith(Payload.U64(ProtocolFeaturesOffered)));
                return true;
            case VhostUserRequest.SetProtocolFeatures:
                return SetProtocolFeatures(Payload.ReadU64(m));
            case VhostUserRequest.GetQueueNum:
                _channel.Send(m.ReplyWith(Payload.U64(_rules.QueueNum(_options.MaxPairs))));
                return true;
            case VhostUserRequest.SetMemTable:
                _memory.Replace(Payload.ReadMemoryTable(m), Adopt(m, m.Fds.Length));
                // Started rings keep their guest-physical addresses; they now resolve through the new table.
                RebuildPlaneKeepingState();
                return true;
            case VhostUserRequest.SetVringNum:
                return SetVringNum(Payload.ReadVringState(m));
            case VhostUserRequest.SetVringAddr:
                return SetVringAddr(Payload.ReadVringAddress(m));
            case VhostUserRequest.SetVringBase:
                {
                    var s = Payload.ReadVringState(m);
                    var ring = Ring(s.Index);
                    ring.Base = _rules.SetVringBase(s.Num, ring.Num, Format);
                    return true;
                }
            case VhostUserRequest.GetVringBase:
                GetVringBase(m);
                return true;
            case VhostUserRequest.SetVringKick:
                Ring(Payload.ReadVringFd(m).Index).SetKick(VringFd(m, "SET_VRING_KICK"));
                return true;
            case VhostUserRequest.SetVringCall:
                Ring(Payload.ReadVringFd(m).Index).SetCall(VringFd(m, "SET_VRING_CALL"));
                return true;
            case VhostUserRequest.SetVringErr:
                Ring(Payload.ReadVringFd(m).Index).SetErr(VringFd(m, "SET_VRING_ERR"));
                return true;
            case VhostUserRequest.SetVringEnable:
                {
                    var s = Payload.ReadVringState(m);
                    Ring(s.Index);
                    if (s.Num > 1) throw new VhostUserProtocolException($"SET_VRING_ENABLE num {s.Num} is neither 0 nor 1");
                    foreach (var vq in _rules.RingsSwitched((int)s.Index, _options.MaxPairs)) _plane.SetEnabled(vq, s.Num == 1);
                    return true;
                }
            case VhostUserRequest.ResetOwner:
                // Deprecated; the document advises treating it as "disable every ring", which is harmless.
                StopAllRings();
                for (var vq = 0; vq < _vrings.Length; vq++) _plane.SetEnabled(vq, false);
                return true;
            case VhostUserRequest.ResetDevice:
                ResetDevice();
                return true;
            default:
                // A request that expects a reply must not be left waiting for one that never comes: refusing it
                // this way makes Dispatch close the connection, which the front-end sees at once.
                var what = Enum.IsDefined(m.Request) ? $"{m.Request.WireName()} ({(uint)m.Request})" : m.Request.WireName();
                if (m.Request.AlwaysGetsReply())
                    throw new VhostUserProtocolException($"{what} is not supported by this back-end, which has no reply to give");
                _log($"{what} is not supported by this back-end; refused");
                return false;
        }
    }

    private bool SetFeatures(FeatureSet f)
    {
        if (!f.IsSubsetOf(Offered))
        {
            _log($"SET_FEATURES {f} includes features never offered ({Offered}); refused");
            return false;
        }
        _features = _featuresAccepted = f;
        // Without the protocol-features bit there is no SET_VRING_ENABLE, so every ring is enabled now.
        if (!f.Has(FeatureBit.ProtocolFeatures))
            for (var vq = 0; vq < _vrings.Length; vq++) _plane.SetEnabled(vq, true);
        return true;
    }

    private bool SetProtocolFeatures(ulong bits)
    {
        if ((bits & ~ProtocolFeaturesOffered) != 0)
        {
            _log($"SET_PROTOCOL_FEATURES 0x{bits:x} includes bits never offered (0x{ProtocolFeaturesOffered:x}); refused");
            return false;
        }
        _protocolFeatures = _rules.ProtocolFeaturesKept(bits);
        return true;
    }

    private bool SetVringNum(VringState s)
    {
        var v = Ring(s.Index);
        // A split ring's size is a power of two; a packed ring's any number from 1 to 2^15 (ring.packed.def.sizes-alignment).
        if (Format == RingFormat.Packed ? s.Num is 0 or > PackedRing.MaxQueueSize : s.Num is 0 or > 32768 || (s.Num & (s.Num - 1)) != 0)
            throw new VhostUserProtocolException(Format == RingFormat.Packed
                ? $"vring {s.Index}: size {s.Num} is not from 1 to {PackedRing.MaxQueueSize} (packed ring)"
                : $"vring {s.Index}: size {s.Num} is not a power of two from 1 to 32768");
        if (s.Num > (uint)_options.QueueMaxSize)
            throw new VhostUserProtocolException($"vring {s.Index}: size {s.Num} is above this back-end's maximum of {_options.QueueMaxSize}");
        v.Num = (int)s.Num;
        return true;
    }

    private bool SetVringAddr(VringAddress a)
    {
        var v = Ring(a.Index);
        if (_memory.RegionCount == 0) throw new VhostUserProtocolException($"vring {a.Index}: SET_VRING_ADDR before SET_MEM_TABLE");
        if (_options.CheckRingAddresses && v.Num > 0 && OutsideMemory(a, (ulong)v.Num) is { } part)
        {
            // Refused here, and addresses set before are forgotten: the ring is unconfigured, so a later kick cannot start it.
            _log($"vring {a.Index}: its {part} runs past the end of its memory region; SET_VRING_ADDR refused");
            v.Desc = v.Avail = v.Used = null;
            return false;
        }
        v.Desc = _memory.UserToGuest(a.Desc, "descriptor table");
        v.Used = _memory.UserToGuest(a.Used, "used ring");
        v.Avail = _memory.UserToGuest(a.Avail, "available ring");
        return true;
    }

    /// <summary>The first part of an <paramref name="n"/>-entry ring that does not lie whole in one region, or null.</summary>
    private string? OutsideMemory(VringAddress a, ulong n) => Format == RingFormat.Packed ? OutsidePacked(a, n) : OutsideSplit(a, n);

    private string? OutsideSplit(VringAddress a, ulong n) =>
        !_memory.HoldsWhole(a.Desc, 16 * n) ? "descriptor table"
        : !_memory.HoldsWhole(a.Avail, 6 + 2 * n) ? "available ring"
        : !_memory.HoldsWhole(a.Used, 6 + 8 * n) ? "used ring"
        : null;

    // Packed: the descriptor ring, and the two event suppression structures where split has its rings.
    private string? OutsidePacked(VringAddress a, ulong n) =>
        !_memory.HoldsWhole(a.Desc, PackedRing.DescriptorSize * n) ? "descriptor ring"
        : !_memory.HoldsWhole(a.Avail, PackedRing.EventSuppressionSize) ? "driver event suppression structure"
        : !_memory.HoldsWhole(a.Used, PackedRing.EventSuppressionSize) ? "device event suppression structure"
        : null;

    private void GetVringBase(VhostUserMessage m)
    {
        var s = Payload.ReadVringState(m);
        var reply = _rules.GetVringBase(new StoppableRing(this, Ring(s.Index)));
        _lastStopReply = reply.Next;
        if (reply.Sent) _channel.Send(m.ReplyWith(new VringState(s.Index, reply.Next).Encode()));
    }

    /// <summary>One of this session's rings, for GET_VRING_BASE.</summary>
    private sealed class StoppableRing(BackendSession session, Vring v) : IStoppableRing
    {
        public uint Stop()
        {
            var next = session._plane.StopQueue(v.Index) ?? session.BaseOf(v);
            v.Base = next;
            // The kick fd goes with the stop: a later kick must not restart a ring the front-end stopped; it
            // sends a new SET_VRING_KICK when it wants the ring back.
            v.SetKick(null);
            return next;
        }

        public uint Current => session._plane.VringBase(v.Index) ?? session.BaseOf(v);

        public uint Base { set => v.Base = value; }

        public RingFormat Format => session.Format;
    }

    private void ResetDevice()
    {
        StopAllRings();
        foreach (var v in _vrings)
        {
            v.Dispose();
            v.Num = 0;
            v.Desc = v.Avail = v.Used = null;
            v.Base = null;
        }
        _features = FeatureSet.Empty;
        _errorSignalled = 0;
        _plane.Reset();
        EnableInitialRings();
    }

    /// <summary>Enables the rings its rules say a new or reset back-end starts with.</summary>
    private void EnableInitialRings()
    {
        foreach (var vq in _rules.InitiallyEnabled(_options.MaxPairs)) _plane.SetEnabled(vq, true);
    }

    private void StopAllRings()
    {
        foreach (var v in _vrings)
            if (_plane.StopQueue(v.Index) is { } next) v.Base = next;
    }

    /// <summary>A new memory table means a new guest view; rings restart on it where they were.</summary>
    private void RebuildPlaneKeepingState()
    {
        var enabled = Enumerable.Range(0, _vrings.Length).Where(_plane.IsEnabled).ToList();
        StopAllRings();
        _plane = NewPlane();
        foreach (var vq in enabled) _plane.SetEnabled(vq, true);
    }

    private Vring Ring(uint index) =>
        index < _vrings.Length ? _vrings[index]
            : throw new VhostUserProtocolException($"vring index {index} is out of range: this back-end serves {_vrings.Length / 2} queue pair(s), vrings 0..{_vrings.Length - 1}");

    /// <summary>The eventfd a SET_VRING_KICK/CALL/ERR carries, or null when the payload says "no fd, poll".</summary>
    private EventFd? VringFd(VhostUserMessage m, string what)
    {
        var p = Payload.ReadVringFd(m);
        if (p.NoFd)
        {
            if (m.Fds.Length != 0) throw new VhostUserProtocolException($"{what} says it has no fd but carries {m.Fds.Length}");
            if (what == "SET_VRING_KICK") _log($"vring {p.Index}: polling mode (no kick fd) is not supported; the ring will not start");
            return null;
        }
        if (m.Fds.Length != 1) throw new VhostUserProtocolException($"{what} carries {m.Fds.Length} fds, expected 1");
        // Any other kind of fd breaks the session loop: a regular file or a hung-up socket polls readable forever
        // and its read does not return the 8-byte counter, which ended the session with an unexpected error.
        if (!EventFd.IsEventFd(m.Fds[0], out var kind))
            throw new VhostUserProtocolException($"{what} for vring {p.Index}: its fd is {kind}, not an eventfd");
        return EventFd.Adopt(Adopt(m, 1)[0]);
    }

    /// <summary>Takes ownership of the message's first <paramref name="count"/> fds, so Dispatch won't close them.</summary>
    private static int[] Adopt(VhostUserMessage m, int count)
    {
        var taken = m.Fds[..count];
        for (var i = 0; i < count; i++) m.Fds[i] = -1;
        return taken;
    }
}
