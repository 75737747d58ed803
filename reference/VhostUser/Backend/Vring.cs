using VirtioMq.Spec.VhostUser;
namespace VirtioMq.Reference.VhostUser.Backend;

/// <summary>
/// What the front-end told the back-end about one vring through SET_VRING_*; the ring itself starts in the
/// data plane on the first kick. Ring addresses are kept guest-physical, translated on arrival.
/// </summary>
internal sealed class Vring(int index) : IDisposable
{
    public int Index { get; } = index;
    public int Num { get; set; }
    public ulong? Desc { get; set; }
    public ulong? Avail { get; set; }
    public ulong? Used { get; set; }

    /// <summary>
    /// Where the next start goes on from (SET_VRING_BASE, or the last stop), as a vring base num; null until the front-end
    /// sets one, when the ring starts where a fresh ring of its format does.
    /// </summary>
    public uint? Base { get; set; }

    public EventFd? Kick { get; private set; }
    public EventFd? Call { get; private set; }
    public EventFd? Err { get; private set; }

    public bool IsConfigured => Num > 0 && Desc.HasValue && Avail.HasValue && Used.HasValue;

    public void SetKick(EventFd? fd)
    {
        Kick?.Dispose();
        Kick = fd;
    }

    public void SetCall(EventFd? fd)
    {
        Call?.Dispose();
        Call = fd;
    }

    public void SetErr(EventFd? fd)
    {
        Err?.Dispose();
        Err = fd;
    }

    public void Dispose()
    {
        SetKick(null);
        SetCall(null);
        SetErr(null);
    }
}
