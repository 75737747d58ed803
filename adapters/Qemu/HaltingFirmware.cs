using VirtioMq.Spec.Memory;

namespace VirtioMq.Adapters.Qemu;

/// <summary>
/// A 64 KiB PC BIOS that only stops the CPU: <c>cli; hlt; jmp back to hlt</c> at the reset vector. Debian's QEMU has no
/// qtest accelerator, so a CPU runs beside qtest; with SeaBIOS it would enumerate PCI and program the device while the
/// suite does, and stopping the machine instead (<c>-S</c>) also stops the device models (QEMU's virtio-net moves no
/// frame while the VM is not running). A halted CPU keeps the machine running and leaves the device to the suite.
/// Held in a memfd that QEMU opens through /proc, so it is never a file.
/// </summary>
internal static class HaltingFirmware
{
    private const int Size = 64 * 1024; // the smallest BIOS image QEMU's PC machines take

    public static SharedMemoryRegion Create()
    {
        var image = SharedMemoryRegion.CreateMemfd("virtio-mq-halting-bios", Size);
        var bytes = image.Span(0, Size);
        bytes.Fill(0xf4); // hlt, wherever execution might land
        // The reset vector is the image's last 16 bytes (physical 0xfffffff0): cli; hlt; jmp -3 (back to the hlt).
        ReadOnlySpan<byte> resetVector = [0xfa, 0xf4, 0xeb, 0xfd];
        resetVector.CopyTo(bytes[(Size - 16)..]);
        return image;
    }
}
