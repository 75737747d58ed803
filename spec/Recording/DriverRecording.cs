using System.Text.Json;
using System.Text.Json.Serialization;

namespace VirtioMq.Spec.Recording;

/// <summary>What the front-end did, as the back-end saw it happen (`serve --record-driver`).</summary>
public enum DriverEventKind
{
    /// <summary>SET_FEATURES; <see cref="DriverEvent.Value"/> holds the bits.</summary>
    Features,
    /// <summary>SET_MEM_TABLE; the value is the number of regions.</summary>
    MemTable,
    /// <summary>SET_VRING_NUM; the value is the ring size.</summary>
    RingSize,
    /// <summary>SET_VRING_ADDR: the ring's three areas are known.</summary>
    RingAddress,
    /// <summary>SET_VRING_BASE; the value is where the ring resumes.</summary>
    RingBase,
    /// <summary>SET_VRING_KICK: the ring's kick eventfd.</summary>
    RingKick,
    /// <summary>The first kick started the ring; the value is the index it starts from.</summary>
    RingStart,
    /// <summary>SET_VRING_ENABLE 1.</summary>
    Enable,
    /// <summary>SET_VRING_ENABLE 0.</summary>
    Disable,
    /// <summary>GET_VRING_BASE stopped the ring; the value is the index it returned.</summary>
    RingStop,
    /// <summary>RESET_DEVICE.</summary>
    ResetDevice,
    /// <summary>RESET_OWNER.</summary>
    ResetOwner,
    /// <summary>The connection ended.</summary>
    End,
}

/// <summary>
/// One ring at the moment of an event. <paramref name="AvailIdx"/> is the driver's available index read from
/// guest memory (null while the ring has no address or the address maps nowhere); <paramref name="NextAvail"/> is
/// the index the back-end takes next (null while the ring is not running). Their difference is what the driver
/// has offered and the back-end not yet taken: receive buffers waiting, or frames queued for sending.
/// </summary>
public sealed record RingSnapshot(bool Enabled, long Frames, long FramesWhileDisabled, int? AvailIdx, int? NextAvail);

/// <summary>An event, with every ring's state right after it.</summary>
/// <param name="At">Seconds since the front-end connected.</param>
public sealed record DriverEvent(double At, DriverEventKind Kind, int? Ring, ulong? Value, IReadOnlyList<RingSnapshot> Rings);

/// <summary>One front-end connection's events, oldest first. Past the limit, later events are only counted.</summary>
public sealed record DriverSession(int Number, DateTimeOffset ConnectedAt, DateTimeOffset? EndedAt, IReadOnlyList<DriverEvent> Events, long EventsDropped);

/// <summary>The file `serve --record-driver` writes: every session the back-end served, oldest first.</summary>
/// <param name="OfferedFeatures">The virtio feature bits the back-end offers, so a reader can tell what the front-end could accept.</param>
public sealed record DriverRecording(string Socket, int QueuePairs, ulong OfferedFeatures, DateTimeOffset WrittenAt, IReadOnlyList<DriverSession> Sessions);

/// <summary>Reads and writes <see cref="DriverRecording"/> as JSON; a write replaces the file whole (rename).</summary>
public static class DriverRecordingFile
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>Writes it; an I/O problem comes back as a message, never thrown: recording must not stop the server.</summary>
    public static string? TryWrite(string path, DriverRecording recording)
    {
        var temporary = path + ".tmp";
        try
        {
            File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(recording, Json));
            File.Move(temporary, path, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot write the driver recording {path}: {e.Message}";
        }
    }

    public static DriverRecording Read(string path) =>
        JsonSerializer.Deserialize<DriverRecording>(File.ReadAllBytes(path), Json)
            ?? throw new InvalidDataException($"{path} holds JSON null, not a driver recording");
}
