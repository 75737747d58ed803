using VirtioMq.Spec;
using VirtioMq.Spec.Recording;
using VirtioMq.Spec.VhostUser;
namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// The checking mode (`serve --record-driver`): every request that shapes the rings, with each ring's state right
/// after it, so a driver can be judged afterwards from what the device really saw.
/// </summary>
public sealed partial class BackendSession
{
    private uint _lastStopReply;

    private void RecordDriverEvent(VhostUserMessage m)
    {
        (DriverEventKind Kind, int? Ring, ulong? Value)? e = m.Request switch
        {
            VhostUserRequest.SetFeatures => (DriverEventKind.Features, null, _features.Low64),
            VhostUserRequest.SetMemTable => (DriverEventKind.MemTable, null, (ulong)_memory.RegionCount),
            VhostUserRequest.SetVringNum => (DriverEventKind.RingSize, (int)Payload.ReadVringState(m).Index, Payload.ReadVringState(m).Num),
            VhostUserRequest.SetVringAddr => (DriverEventKind.RingAddress, (int)Payload.ReadVringAddress(m).Index, null),
            VhostUserRequest.SetVringBase => (DriverEventKind.RingBase, (int)Payload.ReadVringState(m).Index, Payload.ReadVringState(m).Num),
            VhostUserRequest.SetVringKick => (DriverEventKind.RingKick, (int)Payload.ReadVringFd(m).Index, null),
            VhostUserRequest.SetVringEnable => Payload.ReadVringState(m) is var s && s.Num == 1
                ? (DriverEventKind.Enable, (int)s.Index, null) : (DriverEventKind.Disable, (int)Payload.ReadVringState(m).Index, null),
            VhostUserRequest.GetVringBase => (DriverEventKind.RingStop, (int)Payload.ReadVringState(m).Index, _lastStopReply),
            VhostUserRequest.ResetDevice => (DriverEventKind.ResetDevice, null, null),
            VhostUserRequest.ResetOwner => (DriverEventKind.ResetOwner, null, null),
            _ => null,
        };
        if (e is { } x) _recorder!.Add(Snapshot(x.Kind, x.Ring, x.Value));
    }

    private DriverEvent Snapshot(DriverEventKind kind, int? ring, ulong? value) =>
        new(Math.Round(_counters.SecondsSinceCreated, 6), kind, ring, value, [.. _vrings.Select(v => new RingSnapshot(
            _plane.IsEnabled(v.Index), _counters.Frames(v.Index), _counters.FramesWhileDisabled(v.Index), AvailIdx(v), NextAvail(v.Index)))]);

    /// <summary>The next available index a started ring takes (packed: its next available position and wrap counter, the low half of its base).</summary>
    private int? NextAvail(int vq) => _plane.VringBase(vq) is { } b ? (ushort)b : null;

    /// <summary>The driver's available index of a ring, straight from guest memory; null when there is nothing to read (a packed ring has none).</summary>
    private int? AvailIdx(Vring v)
    {
        if (Format == RingFormat.Packed || v.Avail is not { } avail || !_memory.Guest.Contains(avail + 2, 2)) return null;
        return _memory.Guest.ReadU16Acquire(avail + 2);
    }
}

/// <summary>A session's driver events, bounded: a front-end that sends messages for ever must not grow the back-end.</summary>
internal sealed class DriverRecorder(int limit)
{
    private readonly List<DriverEvent> _events = [];
    private long _dropped;

    public void Add(DriverEvent e)
    {
        if (_events.Count < limit) _events.Add(e);
        else _dropped++;
    }

    public DriverSession Session(int number, DateTimeOffset connectedAt, DateTimeOffset? endedAt, DriverEvent? end) =>
        new(number, connectedAt, endedAt, [.. _events, .. end is null ? Array.Empty<DriverEvent>() : [end]], _dropped);
}
