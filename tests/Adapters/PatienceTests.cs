using System.Diagnostics;
using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;

namespace VirtioMq.Tests.Adapters;

/// <summary>
/// A device that timed out once in a check does not get the full timeout again in the same check: the first wait
/// for something it owes runs to the end, every later one of the same check is cut short, and the next check
/// starts with full patience again.
/// </summary>
[TestFixture]
public sealed class PatienceTests
{
    [Test]
    public void After_one_timeout_the_same_check_waits_short_and_the_next_check_waits_long()
    {
        using var device = new VirtioMq.Adapters.InProcess.InProcessReferenceDevice(DeviceUri.Parse("reference://?pairs=2"));
        var driver = new NetDriver(device, new DriverOptions { Timeout = TimeSpan.FromMilliseconds(1500) });
        TimeSpan Wait()
        {
            var clock = Stopwatch.StartNew();
            Assert.That(driver.TryWaitUntil(() => false, driver.Options.Timeout), Is.False);
            return clock.Elapsed;
        }
        using (Patience.Begin(TimeSpan.FromMilliseconds(100)))
        {
            Assert.That(Wait(), Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(1400)), "the first wait gets the full timeout");
            Assert.That(Wait(), Is.LessThan(TimeSpan.FromMilliseconds(1000)), "a device that timed out once gets no second full wait");
            Assert.That(Patience.Current.TimedOut, Is.True);
        }
        using (Patience.Begin(TimeSpan.FromMilliseconds(100)))
            Assert.That(Patience.Current.TimedOut, Is.False, "a new check starts with full patience");
    }

    [Test]
    public void The_cut_wait_is_measured_from_the_devices_slowest_answer()
    {
        var ceiling = TimeSpan.FromMilliseconds(500);
        using (Patience.Begin(ceiling))
        {
            var p = Patience.Current;
            Assert.That(p.Cap(TimeSpan.FromSeconds(5)), Is.EqualTo(TimeSpan.FromSeconds(5)), "full patience before the first timeout");
            p.Answered(TimeSpan.FromMilliseconds(2));
            p.RanOut();
            Assert.That(p.Cap(TimeSpan.FromSeconds(5)), Is.EqualTo(Patience.MinimumCut), "a fast device is waited for the floor, not the ceiling");
            p.Answered(TimeSpan.FromMilliseconds(60));
            Assert.That(p.Cap(TimeSpan.FromSeconds(5)), Is.EqualTo(TimeSpan.FromMilliseconds(60 * Patience.SlowAnswerFactor)), "a slower answer buys a longer wait");
            p.Answered(TimeSpan.FromMilliseconds(20));
            Assert.That(p.Cap(TimeSpan.FromSeconds(5)), Is.EqualTo(TimeSpan.FromMilliseconds(60 * Patience.SlowAnswerFactor)), "the slowest answer counts");
            p.Answered(TimeSpan.FromSeconds(1));
            Assert.That(p.Cap(TimeSpan.FromSeconds(5)), Is.EqualTo(ceiling), "never more than the check's ceiling");
            Assert.That(p.Cap(TimeSpan.FromMilliseconds(25)), Is.EqualTo(TimeSpan.FromMilliseconds(25)), "a shorter wait is left as it is");
        }
    }

    [Test]
    public void A_settle_wait_that_runs_out_is_not_a_timeout()
    {
        using var device = new VirtioMq.Adapters.InProcess.InProcessReferenceDevice(DeviceUri.Parse("reference://?pairs=2"));
        var driver = new NetDriver(device, new DriverOptions { Timeout = TimeSpan.FromSeconds(5) });
        using (Patience.Begin(TimeSpan.FromMilliseconds(100)))
        {
            // Waiting out the absence of a frame (a settle wait) is what the suite does on purpose: it says nothing of the device.
            driver.TryWaitUntil(() => false, TimeSpan.FromMilliseconds(30));
            Assert.That(Patience.Current.TimedOut, Is.False);
        }
    }
}
