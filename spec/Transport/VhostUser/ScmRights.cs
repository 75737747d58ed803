using VirtioMq.Spec.Platform;

namespace VirtioMq.Spec.VhostUser;

/// <summary>
/// One sendmsg/recvmsg with an SCM_RIGHTS control message. MSG_DONTWAIT is passed on every call instead of
/// relying on O_NONBLOCK, because an adopted socket's blocking mode belongs to whoever else shares it; callers poll first.
/// </summary>
internal static unsafe class ScmRights
{
    /// <summary>Room for <see cref="VhostUserMessage.MaxFds"/> fds. One more makes the kernel set MSG_CTRUNC.</summary>
    private static readonly int ReceiveControlSize = Libc.CmsgSpace(VhostUserMessage.MaxFds * sizeof(int));

    /// <summary>Bytes sent, or -1 with errno in <paramref name="errno"/>. The fds, if any, travel with the first byte.</summary>
    public static int Send(int socket, ReadOnlySpan<byte> data, ReadOnlySpan<int> fds, out int errno)
    {
        var controlSize = fds.IsEmpty ? 0 : Libc.CmsgSpace(fds.Length * sizeof(int));
        var control = stackalloc byte[controlSize];
        new Span<byte>(control, controlSize).Clear();
        if (!fds.IsEmpty)
        {
            var header = (Libc.CmsgHdr*)control;
            header->Length = (nuint)Libc.CmsgLen(fds.Length * sizeof(int));
            header->Level = Libc.SolSocket;
            header->Type = Libc.ScmRights;
            fds.CopyTo(new Span<int>(Libc.CmsgData(header), fds.Length));
        }
        fixed (byte* p = data)
        {
            var iov = new Libc.IoVec { Base = (nint)p, Length = (nuint)data.Length };
            var message = new Libc.MsgHdr
            {
                Iov = &iov,
                IovLength = 1,
                Control = fds.IsEmpty ? null : control,
                ControlLength = (nuint)controlSize,
            };
            var sent = Libc.SendMsg(socket, &message, Libc.MsgNosignal | Libc.MsgDontwait);
            errno = sent < 0 ? Libc.LastErrno : 0;
            return (int)sent;
        }
    }

    /// <summary>
    /// Bytes received (0 = end of stream), or -1 with errno. Every fd the kernel installed is appended to
    /// <paramref name="fds"/> before anything is judged, so the caller can close them all on any failure.
    /// </summary>
    public static int Receive(int socket, Span<byte> buffer, List<int> fds, out bool controlTruncated, out int errno)
    {
        var control = stackalloc byte[ReceiveControlSize];
        new Span<byte>(control, ReceiveControlSize).Clear();
        fixed (byte* p = buffer)
        {
            var iov = new Libc.IoVec { Base = (nint)p, Length = (nuint)buffer.Length };
            var message = new Libc.MsgHdr
            {
                Iov = &iov,
                IovLength = 1,
                Control = control,
                ControlLength = (nuint)ReceiveControlSize,
            };
            var received = Libc.RecvMsg(socket, &message, Libc.MsgCmsgCloexec | Libc.MsgDontwait);
            if (received < 0)
            {
                errno = Libc.LastErrno;
                controlTruncated = false;
                return -1;
            }
            errno = 0;
            CollectFds(control, (int)message.ControlLength, fds);
            controlTruncated = (message.Flags & Libc.MsgCtrunc) != 0;
            return (int)received;
        }
    }

    // CMSG_FIRSTHDR/CMSG_NXTHDR by hand, bounded by the length the kernel reported; a header claiming less than
    // its own size would loop forever, so it ends the walk.
    private static void CollectFds(byte* control, int length, List<int> fds)
    {
        var headerSize = sizeof(Libc.CmsgHdr);
        var offset = 0;
        while (offset + headerSize <= length)
        {
            var header = (Libc.CmsgHdr*)(control + offset);
            var cmsgLength = (int)header->Length;
            if (cmsgLength < Libc.CmsgLen(0) || offset + cmsgLength > length) break;
            if (header->Level == Libc.SolSocket && header->Type == Libc.ScmRights)
            {
                var count = (cmsgLength - Libc.CmsgLen(0)) / sizeof(int);
                var data = (int*)Libc.CmsgData(header);
                for (var i = 0; i < count; i++) fds.Add(data[i]);
            }
            offset += Libc.CmsgAlign(cmsgLength);
        }
    }
}
