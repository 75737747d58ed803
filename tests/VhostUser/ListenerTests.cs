using VirtioMq.Spec.Platform;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

[TestFixture, NonParallelizable]
public sealed unsafe class ListenerTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private string _path = null!;

    [SetUp]
    public void UniquePath() => _path = $"/tmp/vu-test-{Guid.NewGuid():N}.sock";

    [TearDown]
    public void RemovePath()
    {
        if (Libc.FileType(_path) is not null) File.Delete(_path);
    }

    [Test]
    public void Connect_and_accept_through_a_path_then_talk_both_ways()
    {
        using var listener = new VhostUserListener(_path);
        Assert.That(listener.Path, Is.EqualTo(_path));
        using var front = VhostUserChannel.Connect(_path, Second);
        using var back = listener.Accept(Second);
        Assert.That(back, Is.Not.Null);

        front.Send(VhostUserMessage.NewRequest(VhostUserRequest.GetQueueNum));
        var request = back!.Receive(Second, "GET_QUEUE_NUM");
        back.Send(request.ReplyWith(Payload.U64(4)));
        Assert.That(Payload.ReadU64(front.Receive(Second, "GET_QUEUE_NUM reply")), Is.EqualTo(4UL));
    }

    [Test]
    public void Connect_retries_until_the_listener_appears()
    {
        var connecting = Task.Run(() => VhostUserChannel.Connect(_path, TimeSpan.FromSeconds(3)));
        Thread.Sleep(100);
        using var listener = new VhostUserListener(_path);
        using var front = connecting.Result;
        using var back = listener.Accept(Second);
        Assert.That(back, Is.Not.Null);
    }

    [Test]
    public void Accept_returns_null_on_timeout()
    {
        using var listener = new VhostUserListener(_path);
        Assert.That(listener.Accept(TimeSpan.FromMilliseconds(50)), Is.Null);
    }

    [Test]
    public void Dispose_removes_the_socket_file()
    {
        new VhostUserListener(_path).Dispose();
        Assert.That(Libc.FileType(_path), Is.Null);
    }

    [Test]
    public void A_stale_socket_file_is_replaced()
    {
        // A socket bound and then abandoned, as by a crashed back-end: the file stays, nobody listens.
        var address = Libc.UnixAddress(_path, out var length);
        var fd = Libc.Check(Libc.Socket(Libc.AfUnix, Libc.SockStream | Libc.SockCloexec, 0), "socket");
        Libc.Check(Libc.Bind(fd, &address, length), "bind");
        Libc.Close(fd);
        Assert.That(Libc.FileType(_path), Is.EqualTo(Libc.SIfsock));

        using var listener = new VhostUserListener(_path);
        using var front = VhostUserChannel.Connect(_path, Second);
        using var back = listener.Accept(Second);
        Assert.That(back, Is.Not.Null);
    }

    [Test]
    public void A_regular_file_at_the_path_is_left_alone()
    {
        File.WriteAllText(_path, "not a socket");
        Assert.That(() => new VhostUserListener(_path), Throws.TypeOf<IOException>().With.Message.Contains("not a socket"));
        Assert.That(File.ReadAllText(_path), Is.EqualTo("not a socket"));
    }

    [Test]
    public void A_path_of_107_bytes_fits_and_108_does_not()
    {
        var fits = "/tmp/" + Guid.NewGuid().ToString("N") + new string('x', 107 - 5 - 32);
        Assert.That(fits, Has.Length.EqualTo(107));
        try
        {
            using (new VhostUserListener(fits)) { }
        }
        finally
        {
            if (Libc.FileType(fits) is not null) File.Delete(fits);
        }
        var tooLong = fits + "y";
        Assert.Multiple(() =>
        {
            Assert.That(() => new VhostUserListener(tooLong), Throws.ArgumentException.With.Message.Contains("108 bytes").And.Message.Contains("1..107"));
            Assert.That(() => VhostUserChannel.Connect(tooLong, Second), Throws.ArgumentException);
            Assert.That(Libc.FileType(tooLong), Is.Null);
        });
    }

    [Test]
    public void Connect_timeout_names_the_path()
    {
        var started = DateTime.UtcNow;
        Assert.That(() => VhostUserChannel.Connect(_path, TimeSpan.FromMilliseconds(150)),
            Throws.TypeOf<TimeoutException>().With.Message.Contains(_path));
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(2)));
    }
}
