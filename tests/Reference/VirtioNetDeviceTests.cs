using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Adapters.InProcess;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Reference;

/// <summary>The reference device as the suite's driver sees it: negotiation, controlq, loopback, hostile input.</summary>
[TestFixture]
public sealed class VirtioNetDeviceTests
{
    private static (InProcessReferenceDevice Device, NetDriver Driver) Open(string query = "pairs=4", int timeoutMs = 2000)
    {
        var device = new InProcessReferenceDevice(DeviceUri.Parse($"reference://?{query}"));
        return (device, new NetDriver(device, new DriverOptions { Timeout = TimeSpan.FromMilliseconds(timeoutMs) }));
    }

    [Test]
    public void It_offers_MQ_with_CTRL_VQ_and_reports_max_pairs()
    {
        var (device, d) = Open("pairs=6");
        using var _ = device;
        d.BeginNegotiation();
        Assert.That(d.Offered.Has(FeatureBit.NetMq) && d.Offered.Has(FeatureBit.NetCtrlVq) && d.Offered.Has(FeatureBit.Version1));
        Assert.That(d.MaxPairs, Is.EqualTo(6));
    }

    [Test]
    public void Frames_loop_back_on_the_receiveq_of_their_transmitq()
    {
        var (device, d) = Open();
        using var _ = device;
        d.Initialize();
        Assert.That(d.VqPairsSet(4), Is.EqualTo(NetAck.Ok));
        for (var k = 1; k <= 4; k++) Assert.That(d.SendAndLocate(k, flow: k), Is.EqualTo(k));
    }

    [Test]
    public void Shrinking_the_pairs_stops_delivery_above_them()
    {
        var (device, d) = Open();
        using var _ = device;
        d.Initialize();
        d.VqPairsSet(4);
        d.VqPairsSet(2);
        Assert.That(d.SendAndLocate(3, flow: 3), Is.Null);
        Assert.That(device.DeviceLog, Is.Empty);
    }

    [Test]
    public void Reset_really_forgets_the_pairs()
    {
        var (device, d) = Open();
        using var _ = device;
        d.Initialize();
        d.VqPairsSet(4);
        d.Initialize();
        Assert.That(d.SendAndLocate(3, flow: 3), Is.Null, "after reset only pair 1 carries packets");
        Assert.That(d.SendAndLocate(1, flow: 1), Is.EqualTo(1));
    }

    [TestCase(0)]
    [TestCase(5)]
    [TestCase(0xFFFF)]
    public void Out_of_range_pairs_are_err_and_logged(int n)
    {
        var (device, d) = Open();
        using var _ = device;
        d.Initialize();
        Assert.That(d.VqPairsSet(n), Is.EqualTo(NetAck.Err));
        Assert.That(device.DeviceLog[^1], Does.Contain($"VQ_PAIRS_SET({n})"));
    }

    [Test]
    public void A_command_without_an_ack_byte_is_dropped_and_the_controlq_keeps_working()
    {
        var (device, d) = Open();
        using var _ = device;
        d.Initialize();
        var cvq = d.Layout.ControlqIndex!.Value;
        d.TrySendRawOn(cvq, [[4, 0, 2, 0]], ackBytes: 0, indirect: false, TimeSpan.Zero);
        Assert.That(device.DeviceLog[^1], Does.Contain("no device-writable byte"));
        Assert.That(d.VqPairsSet(2), Is.EqualTo(NetAck.Ok));
    }

    [Test]
    public void A_transmit_descriptor_outside_memory_is_refused_and_the_queue_keeps_working()
    {
        var (device, d) = Open();
        using var _ = device;
        d.Initialize();
        var tx = d.Queue(NetQueueLayout.Transmitq(1));
        // Corrupt the next free descriptor after the driver wrote it: its address now points nowhere.
        var head = tx.Add([new byte[80]], [])!.Value;
        device.Memory.WriteU64(tx.Registers.Desc + 16UL * head, 0xFFFF_0000_0000);
        d.PublishAndKick(tx);
        Assert.That(device.DeviceLog[^1], Does.Contain("outside guest memory"));
        Assert.That(d.SendAndLocate(1, flow: 1), Is.EqualTo(1));
    }

    [Test]
    public void Features_without_VERSION_1_or_with_MQ_alone_are_refused()
    {
        var (device, d) = Open();
        using var _ = device;
        d.BeginNegotiation();
        Assert.That(d.AcceptFeatures(FeatureSet.Of(FeatureBit.Version1, FeatureBit.NetMq)), Is.False);
        d.BeginNegotiation();
        Assert.That(d.AcceptFeatures(FeatureSet.Of(FeatureBit.NetCtrlVq)), Is.False);
        Assert.That(device.DeviceLog[^1], Does.Contain("VERSION_1"));
    }

    [Test]
    public void A_device_that_never_answers_times_out_naming_what_was_awaited()
    {
        var (device, d) = Open("pairs=4&fault=cvq-at-2", timeoutMs: 100);
        using var _ = device;
        d.Initialize();
        // Synchronous devices get no grace; give this one the driver's timeout to show the message.
        var ack = d.TrySendCommandOn(8, NetControl.ClassMq, NetControl.MqVqPairsSet, [1, 0], CommandFraming.OneReadable, TimeSpan.FromMilliseconds(100));
        Assert.That(ack, Is.Null);
        Assert.That(() => d.VqPairsSet(2), Throws.TypeOf<DeviceTimeoutException>().With.Message.Contains("VQ_PAIRS_SET(2)").And.Message.Contains("vq 8"));
    }
}
