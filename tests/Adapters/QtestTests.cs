using System.Diagnostics;
using System.Net.Sockets;
using VirtioMq.Adapters.Qemu;

namespace VirtioMq.Tests.Adapters;

/// <summary>
/// The qtest line protocol against a real QEMU (the first step of QEMU's virtio-net-pci as a device under test):
/// QEMU started with no CPU running (-S) connects to the suite's socket, and PCI config space answers through the
/// legacy port pair with the IDs of a modern virtio-net device.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class QtestTests
{
    private const string Qemu = "/usr/bin/qemu-system-x86_64";

    [Test]
    public void QEMU_answers_over_qtest_with_a_modern_virtio_net_device_at_the_slot_given()
    {
        if (!File.Exists(Qemu)) Assert.Ignore($"{Qemu} is not installed (tests/peers/linux-guest.sh install)");
        var path = Path.Combine(Path.GetTempPath(), $"vmq-qtest-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var start = new ProcessStartInfo(Qemu)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var a in new[] { "-machine", "q35", "-S", "-qtest", $"unix:{path}", "-display", "none", "-nodefaults", "-m", "64",
                                  "-device", "virtio-net-pci,addr=04.0,disable-legacy=on,romfile=" })
            start.ArgumentList.Add(a);
        using var qemu = Process.Start(start)!;
        try
        {
            using var qtest = QtestConnection.Accept(listener, TimeSpan.FromSeconds(10), "QEMU to connect to the qtest socket");
            var config = new QtestPciFunction(qtest, device: 4);
            var ids = config.ReadConfig(0, 4);
            Assert.That(ids & 0xffff, Is.EqualTo(0x1af4), "PCI vendor: Red Hat, Inc. (virtio)");
            Assert.That(ids >> 16, Is.EqualTo(0x1041), "PCI device: 0x1040 + 1, a modern virtio-net device (§4.1.2)");
            Assert.That(config.ReadConfig(0, 2), Is.EqualTo(0x1af4), "a 16-bit read of the same register");
            Assert.That(new QtestPciFunction(qtest, device: 5).ReadConfig(0, 4), Is.EqualTo(0xffff_ffffu), "an empty slot reads all ones");
            Assert.That(() => qtest.Command("no-such-command"), Throws.InstanceOf<VirtioMq.Adapters.Devices.DeviceProtocolException>());
        }
        finally
        {
            if (!qemu.HasExited) qemu.Kill(entireProcessTree: true);
            qemu.WaitForExit(5000);
            File.Delete(path);
        }
    }
}
