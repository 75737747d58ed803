namespace VirtioMq.Tests.Interop;

/// <summary>
/// What tests/peers/linux-guest.sh says on a machine that lacks a package: the Linux guest test turns exit status 3
/// into "ignored, with the command that installs it", so the message has to name both.
/// </summary>
[TestFixture, Category("Peers")]
public sealed class LinuxGuestScriptTests
{
    [Test]
    public void A_missing_QEMU_is_named_with_the_install_command()
    {
        var run = PeerScript.Run("linux-guest.sh", ["check"], TimeSpan.FromSeconds(30),
            new Dictionary<string, string> { ["QEMU"] = "/nonexistent/qemu-system-x86_64" });
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(3), run.ToString());
            Assert.That(run.Stderr, Does.Contain("qemu-system-x86").And.Contain("tests/peers/linux-guest.sh install"), run.ToString());
        });
    }

    [Test]
    public void Booting_without_a_back_end_says_what_is_missing_and_starts_nothing()
    {
        var run = PeerScript.Run("linux-guest.sh", ["boot", "/nonexistent/vu.sock", "4", "/nonexistent"], TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Not.Zero, run.ToString());
            // With the packages missing it says so (3); with them there, it names the socket it found no back-end on.
            if (run.ExitCode != 3) Assert.That(run.Stderr, Does.Contain("no vhost-user socket at /nonexistent/vu.sock"), run.ToString());
        });
    }
}
