using System.Runtime.CompilerServices;
using VirtioMq.Spec.Platform;

namespace VirtioMq.Tests.VhostUser;

/// <summary>The hand-written structs and CMSG macros against the LP64 glibc values they stand for.</summary>
[TestFixture]
public sealed class LinuxAbiTests
{
    [Test]
    public void Struct_sizes_are_the_LP64_ones() => Assert.Multiple(() =>
    {
        Assert.That(Unsafe.SizeOf<Libc.IoVec>(), Is.EqualTo(16));
        Assert.That(Unsafe.SizeOf<Libc.MsgHdr>(), Is.EqualTo(56));
        Assert.That(Unsafe.SizeOf<Libc.CmsgHdr>(), Is.EqualTo(16));
        Assert.That(Unsafe.SizeOf<Libc.PollFd>(), Is.EqualTo(8));
        Assert.That(Unsafe.SizeOf<Libc.SockaddrUn>(), Is.EqualTo(110));
    });

    [TestCase(1, 20, 24)]
    [TestCase(2, 24, 24)]
    [TestCase(3, 28, 32)]
    [TestCase(8, 48, 48)]
    public void Cmsg_len_counts_no_trailing_padding_but_cmsg_space_does(int fds, int len, int space) => Assert.Multiple(() =>
    {
        Assert.That(Libc.CmsgLen(fds * sizeof(int)), Is.EqualTo(len));
        Assert.That(Libc.CmsgSpace(fds * sizeof(int)), Is.EqualTo(space));
    });
}
