using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Adapters.VhostUser;
using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;

namespace VirtioMq.Tests.VhostUser;

/// <summary>
/// The reference back-end with a ring thread per queue pair (`serve --workers per-pair`): four transmitqs served at
/// once by four threads must lose, repeat and corrupt no frame, also when one receiveq is reset and its pair's frames
/// cross to receive rings other threads own, and also while the front-end stops and restarts rings under traffic.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class RingThreadTests
{
    private const int Pairs = 4;
    private const int Rounds = 300;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private static (RunningBackend Backend, VhostUserDevice Device, NetDriver Driver) Start(string tag)
    {
        var backend = new RunningBackend(RunningBackend.NewSocketPath(tag), new ReferenceOptions(Pairs) { Workers = 0 });
        var device = new VhostUserDevice(DeviceUri.Parse($"vhost-user://{backend.SocketPath}?pairs={Pairs}"));
        var driver = new NetDriver(device, new DriverOptions { Timeout = Patience });
        driver.Initialize(NetDriver.DefaultRequest.With(FeatureBit.RingReset));
        Assert.That(driver.VqPairsSet(Pairs), Is.EqualTo(NetAck.Ok));
        return (backend, device, driver);
    }

    /// <summary>Sends a burst on every transmitq in turn (each as many as a receiveq holds), then finds every frame.</summary>
    private static List<string> Burst(NetDriver driver, Func<int, bool> mayArriveOn, Func<int, int?> expectedPair)
    {
        var sent = new List<(ulong Tag, int Pair)>();
        for (var i = 0; i < 8; i++)
            for (var pair = 1; pair <= Pairs; pair++)
                sent.Add((driver.TransmitTagged(pair, flow: 100 * pair + i), pair));
        var wrong = new List<string>();
        foreach (var (tag, pair) in sent)
        {
            var got = driver.WaitForFrame(tag, Patience);
            if (got is null) wrong.Add($"frame {tag} sent on transmitq{pair} never came back");
            else if (!mayArriveOn(got.Pair) || (expectedPair(pair) is { } want && got.Pair != want))
                wrong.Add($"frame {tag} sent on transmitq{pair} came back on receiveq{got.Pair}");
        }
        driver.CollectReceived();
        wrong.AddRange(driver.Received.Select(f => $"an unclaimed frame came back on receiveq{f.Pair}: a repeat or a corruption"));
        driver.ClearReceived();
        return wrong;
    }

    private static void AssertNoneWrong(List<string> wrong, RunningBackend backend) =>
        Assert.That(wrong, Is.Empty, () => string.Join("\n", wrong.Take(10)) + "\nback-end log:\n" + string.Join("\n", backend.LogLines.TakeLast(20)));

    [Test]
    public void Frames_on_every_pair_at_once_each_come_back_once_on_their_own_pair()
    {
        var (backend, device, driver) = Start("rt-all");
        using (backend)
        using (device)
        {
            var wrong = new List<string>();
            for (var round = 0; round < Rounds && wrong.Count == 0; round++)
                wrong.AddRange(Burst(driver, _ => true, pair => pair));
            AssertNoneWrong(wrong, backend);
        }
    }

    [Test]
    public void Frames_of_a_pair_whose_receiveq_is_reset_cross_to_the_other_threads_rings_intact()
    {
        var (backend, device, driver) = Start("rt-cross");
        using (backend)
        using (device)
        {
            // Receiveq 2 (vq 2) is reset and left so: automatic steering sends transmitq2's frames to the other receiveqs,
            // which the other ring threads fill from their own transmitqs at the same time.
            driver.ResetQueue(NetQueueLayout.Receiveq(2));
            var wrong = new List<string>();
            for (var round = 0; round < Rounds && wrong.Count == 0; round++)
                wrong.AddRange(Burst(driver, rx => rx != 2, pair => pair == 2 ? null : pair));
            AssertNoneWrong(wrong, backend);
        }
    }

    [Test]
    public void Rings_reset_and_set_up_again_under_traffic_carry_on()
    {
        var (backend, device, driver) = Start("rt-reset");
        using (backend)
        using (device)
        {
            // Each round stops one transmitq (GET_VRING_BASE) and sets it up again while the other threads are busy
            // with their bursts: the stop must wait for the owning thread's turn, and the ring must resume served.
            var wrong = new List<string>();
            for (var round = 0; round < Rounds / 4 && wrong.Count == 0; round++)
            {
                var vq = NetQueueLayout.Transmitq(round % Pairs + 1);
                driver.ResetQueue(vq);
                driver.ReenableQueue(vq);
                wrong.AddRange(Burst(driver, _ => true, pair => pair));
            }
            AssertNoneWrong(wrong, backend);
        }
    }
}
