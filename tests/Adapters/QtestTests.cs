using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Qemu;

namespace VirtioMq.Tests.Adapters;

/// <summary>
/// The qtest line protocol against a real QEMU, under the PCI transport: QEMU started by the adapter connects to the
/// suite's socket, and PCI config space answers through the legacy port pair with the IDs of a modern virtio-net device.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class QtestTests
{
    private const string Qemu = "/usr/bin/qemu-system-x86_64";

    [Test]
    public void QEMU_answers_over_qtest_with_a_modern_virtio_net_device_at_the_slot_given()
    {
        if (!File.Exists(Qemu)) Assert.Ignore($"{Qemu} is not installed (tests/peers/qemu-versions.sh install 7.2)");
        if (!Environment.IsPrivilegedProcess) Assert.Ignore("the tap data path needs root (a network namespace and a multi-queue tap)");
        var options = QemuOptions.Parse(DeviceUri.Parse($"qemu://{Qemu}?pairs=1"));
        using var qemu = QemuProcess.Start(options, QemuInstallation.Find(Qemu), slot: 4);
        var config = new QtestPciFunction(qemu.Qtest, device: 4);
        var ids = config.ReadConfig(0, 4);
        Assert.That(ids & 0xffff, Is.EqualTo(0x1af4), "PCI vendor: Red Hat, Inc. (virtio)");
        Assert.That(ids >> 16, Is.EqualTo(0x1041), "PCI device: 0x1040 + 1, a modern virtio-net device (§4.1.2)");
        Assert.That(config.ReadConfig(0, 2), Is.EqualTo(0x1af4), "a 16-bit read of the same register");
        Assert.That(new QtestPciFunction(qemu.Qtest, device: 5).ReadConfig(0, 4), Is.EqualTo(0xffff_ffffu), "an empty slot reads all ones");
        Assert.That(() => qemu.Qtest.Command("no-such-command"), Throws.InstanceOf<DeviceProtocolException>());
    }
}
