using System.Diagnostics;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Adapters.VhostUser;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// vhost-user server mode (<c>?server=1</c>): the suite listens, the back-end connects, once per session, as QEMU's
/// <c>server=on</c> runs DPDK's client=1 and Open vSwitch's dpdkvhostuserclient. The reference connects as a client.
/// </summary>
[TestFixture]
public sealed class ServerModeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private static DeviceUri Uri(string path, string extra = "") => DeviceUri.Parse($"vhost-user://{path}?pairs=4&server=1{extra}");

    /// <summary>One session on a fresh device: four pairs on, a frame on each transmitq comes back on its own receiveq.</summary>
    private static void RunSession(string path)
    {
        using var device = new VhostUserDevice(Uri(path));
        Assert.That(device.ServerMode, Is.True);
        var driver = new NetDriver(device, new DriverOptions { Timeout = Patience });
        driver.Initialize();
        Assert.That(driver.VqPairsSet(4), Is.EqualTo(NetAck.Ok));
        for (var pair = 1; pair <= 4; pair++)
            Assert.That(driver.SendAndLocate(pair, flow: pair, Patience), Is.EqualTo(pair), $"a frame on transmitq{pair}");
    }

    [Test]
    public void Each_session_is_one_connection_the_back_end_makes_again()
    {
        var path = RunningBackend.NewSocketPath("srv");
        using var backend = new RunningBackend(path, new ReferenceOptions(4), client: true);
        for (var session = 1; session <= 3; session++) RunSession(path);
        Assert.That(() => backend.Backend.Sessions, Is.GreaterThanOrEqualTo(3).After(2000, 20), "the back-end reconnected for every session");
    }

    [Test]
    public void A_back_end_restarted_between_sessions_is_found_again()
    {
        var path = RunningBackend.NewSocketPath("srv-restart");
        using (new RunningBackend(path, new ReferenceOptions(4), client: true)) RunSession(path);
        // The first back-end reconnected as the session closed, then died: its connection waits in the backlog, hung up.
        using var second = new RunningBackend(path, new ReferenceOptions(4), client: true);
        RunSession(path);
        Assert.That(second.Backend.Sessions, Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public void A_connection_hung_up_before_it_was_accepted_is_dropped()
    {
        var path = RunningBackend.NewSocketPath("srv-dead");
        ServerSockets.Listen(path);
        // A "back-end" that connects and is gone before the suite accepts it.
        using (VhostUserChannel.Connect(path, Patience)) { }
        using var backend = new RunningBackend(path, new ReferenceOptions(4), client: true);
        RunSession(path);
    }

    [Test]
    public void No_back_end_is_a_bounded_error_that_says_who_connects()
    {
        var path = RunningBackend.NewSocketPath("srv-none");
        var clock = Stopwatch.StartNew();
        var e = Assert.Catch(() => new VhostUserDevice(Uri(path, "&connect-timeout=300")).Dispose())!;
        Assert.That(e, Is.InstanceOf<DeviceProtocolException>());
        Assert.That(e.Message, Does.Contain("client=1").And.Contain(path));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
    }

    [Test]
    public void A_file_that_is_not_a_socket_is_never_replaced()
    {
        var path = RunningBackend.NewSocketPath("srv-file");
        File.WriteAllText(path, "somebody's data");
        try
        {
            var e = Assert.Catch(() => new VhostUserDevice(Uri(path, "&connect-timeout=300")).Dispose())!;
            Assert.That(e.Message, Does.Contain("not a socket"));
            Assert.That(File.ReadAllText(path), Is.EqualTo("somebody's data"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
