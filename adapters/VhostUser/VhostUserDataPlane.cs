using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Spec;
using VirtioMq.Spec.Memory;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Adapters.VhostUser;

/// <summary>
/// The front-end's half of the data path: the device model's receiveqs and transmitqs handed to a vhost-user
/// back-end. Ring setup becomes SET_VRING_*, a kick becomes a write to the ring's kick eventfd, and the pair
/// count becomes SET_VRING_ENABLE per ring, as QEMU's vhost-net does.
/// </summary>
/// <remarks>
/// Ring bases travel as vhost-user's 32-bit vring base num: a split ring's next avail index, or with
/// VIRTIO_F_RING_PACKED a <see cref="PackedVringBase"/> (both positions with their wrap counters, vu.packed.def.base-layout).
/// </remarks>
public sealed class VhostUserDataPlane(
    VhostUserConnection connection, GuestMemory memory, MemoryTableSource memoryTable, FeatureSet backendFeatures) : IRingSuspension, IRingEnable, IRingStartIndex, IDisposable
{
    private readonly Dictionary<int, (EventFd Kick, EventFd Call)> _rings = [];
    private readonly Dictionary<int, QueueRegisters> _registers = [];
    // Rings stopped by StopRing keep their eventfds, so a driver kick still reaches the back-end's old kick fd:
    // a stopped ring must ignore it (vu.ring.stop-on-get-base), and the call fd is still watched.
    private readonly Dictionary<int, (EventFd Kick, EventFd Call)> _stopped = [];
    private readonly HashSet<int> _enabled = [];
    // Where a driver asked a ring to start the next time it is set up (IRingStartIndex).
    private readonly Dictionary<int, uint> _startBases = [];
    private bool _started;

    /// <summary>The back-end's GET_QUEUE_NUM answer (null without VHOST_USER_PROTOCOL_F_MQ): the pairs it says it serves.</summary>
    public ulong? QueueNum { get; init; }

    /// <summary>The features the device model negotiated with the driver, read when the back-end is started.</summary>
    public Func<FeatureSet> Negotiated { get; set; } = () => FeatureSet.Empty;

    /// <summary>The call eventfds of started rings: the back-end's used buffer notifications.</summary>
    public IEnumerable<EventFd> CallFds => _rings.Values.Concat(_stopped.Values).Select(r => r.Call);

    /// <summary>Rings the back-end was last told are enabled.</summary>
    public IReadOnlySet<int> Enabled => _enabled;

    // One error eventfd for every ring (SET_VRING_ERR): the back-end signals it when a ring is unusable.
    private readonly EventFd _err = EventFd.Create();
    private bool _errSeen;

    /// <summary>True once the back-end signalled a ring error; the device model then sets DEVICE_NEEDS_RESET.</summary>
    public bool NeedsReset => _errSeen |= _err.Drain() != 0;

    private bool CanToggle => backendFeatures.Has(FeatureBit.ProtocolFeatures);

    /// <summary>The rings' format: packed once the driver negotiated VIRTIO_F_RING_PACKED (which is forwarded to the back-end).</summary>
    public RingFormat Format => Negotiated().Has(FeatureBit.RingPacked) ? RingFormat.Packed : RingFormat.Split;

    public bool IsStarted(int vq) => _rings.ContainsKey(vq);

    /// <summary>
    /// Hands a ring to the back-end from where the driver starts it: a base <see cref="StartAt"/> announced; else for a
    /// split ring the used idx it holds, for a packed ring <see cref="PackedVringBase.Start"/> (offset 0, wrap counters 1).
    /// </summary>
    public void StartQueue(int vq, QueueRegisters r)
    {
        EnsureStarted();
        StopRing(vq);
        Forget(vq);
        // A split ring may already hold used entries; the back-end resumes after them. A packed ring's memory says
        // nothing of where it starts.
        var vringBase = _startBases.Remove(vq, out var announced) ? announced
            : Format == RingFormat.Packed ? PackedVringBase.Start.Encode()
            : memory.ReadU16(r.Used + 2);
        var fds = (EventFd.Create(), EventFd.Create());
        try
        {
            Configure(vq, r, vringBase, fds);
        }
        catch when (!_rings.ContainsKey(vq))
        {
            // A ring the back-end refused is not started: its eventfds are nobody's.
            fds.Item1.Dispose();
            fds.Item2.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a ring that <see cref="StopRing"/> stopped, from <paramref name="vringBase"/> (what GET_VRING_BASE
    /// returned: a split ring's next avail index or a packed ring's <see cref="PackedVringBase"/>), and kicks it: the
    /// vhost-user form of resuming a suspended ring.
    /// </summary>
    /// <remarks>
    /// With <paramref name="restateEnable"/> the ring's enable state is sent again before the kick, as QEMU does
    /// when it restarts vhost; without it the back-end must have kept the state across the stop (a SHOULD).
    /// </remarks>
    public void ResumeRing(int vq, uint vringBase, bool restateEnable = true)
    {
        if (!_stopped.Remove(vq, out var fds) || !_registers.TryGetValue(vq, out var r))
            throw new InvalidOperationException($"vring {vq} was not stopped by StopRing");
        Configure(vq, r, vringBase, fds);
        if (restateEnable) RestateEnable(vq);
        fds.Kick.Signal();
    }

    private void Configure(int vq, QueueRegisters r, uint vringBase, (EventFd Kick, EventFd Call) fds)
    {
        try
        {
            Send(vq, r, vringBase, fds);
        }
        catch (VhostUserRefusalException e)
        {
            // A refusal names the ring it was about, so a check can tell a careful refusal of that ring from any other.
            // A ring GET_QUEUE_NUM covers, refused its size or eventfds (nothing a careful back-end has reason to refuse;
            // the addresses and the kick of a ring past memory it may), makes GET_QUEUE_NUM an untrue answer.
            // A base refused is SET_VRING_BASE's own rule: any 16-bit index is a valid place to resume a split ring, and
            // any two positions inside the ring a packed one (vu.packed.set-base.both).
            var covered = QueueNum is { } n && (ulong)vq < 2 * n;
            Breach? breach = !covered ? null
                : e.Request == VhostUserRequest.SetVringBase ? BaseRefused(r, vringBase)
                : e.Request is VhostUserRequest.SetVringNum or VhostUserRequest.SetVringCall or VhostUserRequest.SetVringErr ? Breach.CoveredRingRefused
                : null;
            throw e.ForVring(vq, breach);
        }
        _rings[vq] = fds;
        _registers[vq] = r;
    }

    private Breach? BaseRefused(QueueRegisters r, uint vringBase)
    {
        if (Format == RingFormat.Split) return Breach.ResumeIndexRefused;
        var b = PackedVringBase.Decode(vringBase);
        return b.Avail.Offset < r.Size && b.Used.Offset < r.Size ? Breach.PackedResumeBaseRefused : null;
    }

    /// <remarks>For a packed ring SET_VRING_ADDR's avail and used addresses are the driver and device areas (event suppression).</remarks>
    private void Send(int vq, QueueRegisters r, uint vringBase, (EventFd Kick, EventFd Call) fds)
    {
        connection.Send(VhostUserRequest.SetVringNum, new VringState((uint)vq, (uint)r.Size).Encode());
        connection.Send(VhostUserRequest.SetVringBase, new VringState((uint)vq, vringBase).Encode());
        connection.Send(VhostUserRequest.SetVringAddr,
            new VringAddress((uint)vq, 0, memoryTable.ToUser(r.Desc), memoryTable.ToUser(r.Used), memoryTable.ToUser(r.Avail), 0).Encode());
        connection.Send(VhostUserRequest.SetVringKick, new VringFd((byte)vq, false).Encode(), [fds.Kick.Fd]);
        connection.Send(VhostUserRequest.SetVringCall, new VringFd((byte)vq, false).Encode(), [fds.Call.Fd]);
        connection.Send(VhostUserRequest.SetVringErr, new VringFd((byte)vq, false).Encode(), [_err.Fd]);
    }

    public void SetEnabled(int vq, bool enabled)
    {
        if (_enabled.Contains(vq) == enabled) return;
        // Without VHOST_USER_F_PROTOCOL_FEATURES every ring is enabled and stays so; nothing to say.
        if (CanToggle)
        {
            EnsureStarted();
            connection.Send(VhostUserRequest.SetVringEnable, new VringState((uint)vq, enabled ? 1u : 0u).Encode());
        }
        if (enabled) _enabled.Add(vq);
        else _enabled.Remove(vq);
    }

    public void Notify(int vq)
    {
        if (_rings.TryGetValue(vq, out var r) || _stopped.TryGetValue(vq, out r)) r.Kick.Signal();
    }

    /// <summary>Stops every ring with GET_VRING_BASE, then resets the back-end (RESET_DEVICE where offered).</summary>
    public void Reset()
    {
        // In ring order, as QEMU stops them: a dictionary's order follows its history, so a ring started again after a
        // queue reset came first, and testpmd once stopped reading its socket after a GET_VRING_BASE that began at vring 7.
        foreach (var vq in _rings.Keys.Order().ToList()) StopRing(vq);
        foreach (var vq in _stopped.Keys.ToList()) Forget(vq);
        if (connection.Has(VhostUserProtocolFeature.ResetDevice))
        {
            connection.Send(VhostUserRequest.ResetDevice);
        }
        else
        {
            foreach (var vq in _enabled.ToList()) SetEnabled(vq, false);
        }
        _enabled.Clear();
        _startBases.Clear();
        _started = false;
        _errSeen = false;
        _err.Drain();
    }

    /// <summary>
    /// Resets one ring for the driver's per-queue reset (VIRTIO_F_RING_RESET): stops it with GET_VRING_BASE, the only way
    /// vhost-user has to make a back-end leave a ring alone. The driver enables it again with new addresses, which
    /// <see cref="StartQueue"/> sends from the format's start (split: the used idx, 0 after a reset; packed: offset 0,
    /// wrap counters 1) unless the driver announced another; its enable state is kept, and said again then. Until then
    /// its kick eventfd stays, so a notification of the reset queue still reaches a back-end that did not stop it.
    /// </summary>
    public void ResetRing(int vq)
    {
        StopRing(vq);
        _registers.Remove(vq);
        _startBases.Remove(vq);
    }

    /// <inheritdoc/>
    public void StartAt(int vq, uint vringBase) => _startBases[vq] = vringBase;

    /// <summary>Sends a ring's enable state again (after it was started anew), as QEMU does when it restarts a ring.</summary>
    public void RestateEnable(int vq)
    {
        if (CanToggle && _enabled.Contains(vq)) connection.Send(VhostUserRequest.SetVringEnable, new VringState((uint)vq, 1).Encode());
    }

    /// <summary>
    /// Stops one ring (GET_VRING_BASE) and returns where the back-end says it would resume: a split ring's next avail
    /// index (the low 16 bits, as ever), or a packed ring's whole <see cref="PackedVringBase"/>, both halves of which must
    /// name a slot of the ring (vu.packed.get-base.reply-both).
    /// </summary>
    public uint? StopRing(int vq)
    {
        if (!_rings.Remove(vq, out var r)) return null;
        _stopped[vq] = r;
        var packed = Format == RingFormat.Packed;
        var reply = Payload.ReadVringState(connection.Call(VhostUserRequest.GetVringBase, new VringState((uint)vq, 0).Encode(),
            noReply: packed ? Breach.PackedVringBaseReplyMissing : null));
        if (reply.Index != (uint)vq)
            throw new DeviceProtocolException($"GET_VRING_BASE for vring {vq} was answered for vring {reply.Index}");
        if (!packed) return (ushort)reply.Num;
        var size = _registers.TryGetValue(vq, out var registers) ? registers.Size : PackedRing.MaxQueueSize;
        var b = PackedVringBase.Decode(reply.Num);
        if (b.Avail.Offset >= size || b.Used.Offset >= size)
            throw new DeviceProtocolException(
                $"GET_VRING_BASE for packed vring {vq} (size {size}) answered 0x{reply.Num:x8} ({b}): a position past the ring's last descriptor")
            { Breach = Breach.PackedVringBaseOutsideRing };
        return reply.Num;
    }

    private void Forget(int vq)
    {
        if (!_stopped.Remove(vq, out var r)) return;
        r.Kick.Dispose();
        r.Call.Dispose();
    }

    /// <summary>
    /// Hands the running device to a back-end that connected again (<see cref="Devices.Capabilities.IBackEndReconnect"/>): the
    /// features and memory table, every started ring with its old eventfds from <paramref name="restartBase"/>, then the
    /// enables, in ring order, as QEMU's vhost start does, and a kick on each ring. The back-end on the new connection knows nothing of the old one:
    /// its rings start disabled (with VHOST_USER_F_PROTOCOL_FEATURES), so only the enabled ones are said.
    /// </summary>
    public void Restore(Func<int, uint> restartBase)
    {
        _started = false;
        EnsureStarted();
        foreach (var vq in _rings.Keys.Order().ToList()) Configure(vq, _registers[vq], restartBase(vq), _rings[vq]);
        foreach (var vq in _enabled.Order()) RestateEnable(vq);
        // A kick on every ring, as after a resume: a back-end starts a ring on its first kick (vu.ring.start-on-kick), and the
        // driver kicked these long ago, to the old connection. Receive buffers still posted would otherwise wait unseen.
        foreach (var (kick, _) in _rings.Values) kick.Signal();
    }

    /// <summary>What QEMU does at vhost start: the acked features, then the memory table.</summary>
    private void EnsureStarted()
    {
        if (_started) return;
        var features = Negotiated().Intersect(backendFeatures);
        if (backendFeatures.Has(FeatureBit.ProtocolFeatures)) features = features.With(FeatureBit.ProtocolFeatures);
        connection.Send(VhostUserRequest.SetFeatures, Payload.U64(features.Low64));
        memoryTable.Send(connection);
        _started = true;
    }

    ushort? IRingSuspension.Stop(int vq) => (ushort?)StopRing(SplitOnly(vq, nameof(IRingSuspension.StopBase)));
    void IRingSuspension.Resume(int vq, ushort nextAvail, bool restateEnable) => ResumeRing(SplitOnly(vq, nameof(IRingSuspension.ResumeBase)), nextAvail, restateEnable);
    uint? IRingSuspension.StopBase(int vq) => StopRing(vq);
    void IRingSuspension.ResumeBase(int vq, uint vringBase, bool restateEnable) => ResumeRing(vq, vringBase, restateEnable);

    private int SplitOnly(int vq, string instead) => Format == RingFormat.Split ? vq
        : throw new InvalidOperationException($"vring {vq} is a packed ring, whose base is two positions, not a 16-bit index: use {instead}");

    public void Dispose()
    {
        foreach (var (kick, call) in _rings.Values.Concat(_stopped.Values))
        {
            kick.Dispose();
            call.Dispose();
        }
        _rings.Clear();
        _stopped.Clear();
        _err.Dispose();
    }
}
