using System.Diagnostics;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Adapters.VhostUser;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// A back-end that hangs up, hangs or talks nonsense must fail the run with a message that says so, quickly,
/// and never hang it: the suite's front-end against deliberately broken servers on a real socket.
/// </summary>
[TestFixture]
public sealed class FrontEndFailureTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMilliseconds(300);

    /// <summary>A one-connection server that does what it is given with the channel, on its own thread.</summary>
    private sealed class BrokenBackend : IDisposable
    {
        private readonly VhostUserListener _listener;
        private readonly Thread _thread;

        public BrokenBackend(Action<VhostUserChannel> behave)
        {
            Path = RunningBackend.NewSocketPath("broken");
            _listener = new VhostUserListener(Path);
            _thread = new Thread(() =>
            {
                using var channel = _listener.Accept(TimeSpan.FromSeconds(10));
                if (channel is not null) behave(channel);
            })
            { IsBackground = true };
            _thread.Start();
        }

        public string Path { get; }

        public void Dispose()
        {
            _thread.Join(TimeSpan.FromSeconds(10));
            _listener.Dispose();
        }
    }

    private static DeviceUri Uri(string path) =>
        DeviceUri.Parse($"vhost-user://{path}?pairs=2&timeout-ms={(int)Patience.TotalMilliseconds}&connect-timeout={(int)Patience.TotalMilliseconds}");

    private static Exception OpenFails(string path)
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.Catch(() => new VhostUserDevice(Uri(path)).Dispose())!;
        Assert.That(clock.Elapsed, Is.LessThan(Patience * 10), "the failure took far longer than the configured timeout");
        return e;
    }

    [Test]
    public void A_missing_socket_is_named()
    {
        var e = OpenFails("/tmp/vmq-no-such-backend.sock");
        Assert.That(e, Is.InstanceOf<DeviceProtocolException>());
        Assert.That(e.Message, Does.Contain("cannot reach").And.Contain("/tmp/vmq-no-such-backend.sock"));
    }

    [Test]
    public void A_back_end_that_hangs_up_at_once_is_named()
    {
        using var backend = new BrokenBackend(_ => { });
        var e = OpenFails(backend.Path);
        Assert.That(e, Is.InstanceOf<DeviceProtocolException>());
        Assert.That(e.Message, Does.Contain("closed the connection"));
    }

    [Test]
    public void A_back_end_that_never_answers_times_out_naming_the_request()
    {
        using var backend = new BrokenBackend(c => Thread.Sleep(Patience * 3));
        var e = OpenFails(backend.Path);
        Assert.That(e, Is.InstanceOf<DeviceTimeoutException>());
        Assert.That(e.Message, Does.Contain("GET_FEATURES").And.Contain("hangs"));
    }

    [Test]
    public void A_reply_to_the_wrong_request_is_named()
    {
        using var backend = new BrokenBackend(c =>
        {
            c.Receive(TimeSpan.FromSeconds(5), "SET_OWNER");
            c.Receive(TimeSpan.FromSeconds(5), "GET_FEATURES");
            c.Send(new VhostUserMessage(VhostUserRequest.GetQueueNum, VhostUserFlags.Version1 | VhostUserFlags.Reply, Payload.U64(1), []));
            Thread.Sleep(Patience);
        });
        var e = OpenFails(backend.Path);
        Assert.That(e.Message, Does.Contain("GET_FEATURES").And.Contain("GET_QUEUE_NUM"));
    }

    [Test]
    public void A_garbage_header_is_named()
    {
        using var backend = new BrokenBackend(c =>
        {
            c.Receive(TimeSpan.FromSeconds(5), "SET_OWNER");
            c.Receive(TimeSpan.FromSeconds(5), "GET_FEATURES");
            // Version bits 3 and a 1 MiB size: nothing a back-end may send.
            c.SendRaw([1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 16, 0], []);
            Thread.Sleep(Patience);
        });
        var e = OpenFails(backend.Path);
        Assert.That(e.Message, Does.Contain("garbage"));
    }

    [Test]
    public void A_back_end_that_dies_mid_run_fails_the_next_step_clearly()
    {
        var backend = new RunningBackend(RunningBackend.NewSocketPath("dies"), new ReferenceOptions(4));
        using var device = new VhostUserDevice(Uri(backend.SocketPath));
        var driver = new NetDriver(device, new DriverOptions { Timeout = Patience });
        driver.Initialize();
        Assert.That(driver.SendAndLocate(1, flow: 1, Patience), Is.EqualTo(1));
        backend.Dispose();
        var clock = Stopwatch.StartNew();
        var e = Assert.Catch(() => driver.VqPairsSet(2))!;
        Assert.That(e.Message, Does.Contain("closed the connection").Or.Contain("hangs"));
        Assert.That(driver.SendAndLocate(1, flow: 2, Patience), Is.Null, "no frame can come back from a dead back-end");
        Assert.That(clock.Elapsed, Is.LessThan(Patience * 10));
    }
}
