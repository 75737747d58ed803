using VirtioMq.Reference.Net;
using VirtioMq.Reference.VhostUser.Backend;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Reference;

/// <summary>The back-end's per-ring record (serve --stats): counts, enable history, its bounds and its file.</summary>
public sealed class RingCountersTests
{
    [Test]
    public void Frames_are_counted_per_ring_and_those_on_a_disabled_ring_apart()
    {
        var c = new RingCounters(historyLimit: 10);
        c.SetEnabled(1, true);
        c.CountFrame(1, ringEnabled: true);
        c.CountFrame(1, ringEnabled: true);
        c.CountFrame(5, ringEnabled: false);
        Assert.Multiple(() =>
        {
            Assert.That((c.Frames(1), c.FramesWhileDisabled(1)), Is.EqualTo((2L, 0L)));
            Assert.That((c.Frames(5), c.FramesWhileDisabled(5)), Is.EqualTo((1L, 1L)));
            Assert.That((c.Frames(99), c.IsEnabled(99)), Is.EqualTo((0L, false)), "a ring never seen");
        });
    }

    [Test]
    public void Only_changes_of_enable_state_enter_the_history_with_the_counts_at_that_moment()
    {
        var c = new RingCounters(historyLimit: 10);
        c.SetEnabled(0, true);
        c.CountFrame(0, true);
        c.SetEnabled(0, true); // a restatement, e.g. a data plane rebuilt on a new memory table
        c.SetEnabled(0, false);
        c.SetEnabled(0, false);
        Assert.That(c.History.Select(e => (e.Ring, e.Enabled, e.Frames)), Is.EqualTo(new[] { (0, true, 0L), (0, false, 1L) }));
    }

    [Test]
    public void The_history_is_bounded_and_says_how_much_it_dropped()
    {
        var c = new RingCounters(historyLimit: 3);
        for (var i = 0; i < 10; i++) c.SetEnabled(2, i % 2 == 0);
        Assert.That((c.History.Count, c.HistoryDropped), Is.EqualTo((3, 7L)));
        Assert.That(c.IsEnabled(2), Is.False, "the state itself is kept beyond the limit");
    }

    [Test]
    public void A_reset_plane_records_every_enabled_ring_as_disabled()
    {
        var counters = new RingCounters(historyLimit: 10);
        var plane = new LoopbackDataPlane(new VirtioMq.Spec.Memory.GuestMemory(), new ReferenceOptions(2), _ => { }, counters);
        plane.SetActivePairs(2, 2);
        plane.Reset();
        Assert.That(Enumerable.Range(0, 4).Select(counters.IsEnabled), Is.All.False);
        Assert.That(counters.History.Count(e => !e.Enabled), Is.EqualTo(4));
    }

    [Test]
    public void The_stats_file_reads_back_what_was_written()
    {
        var c = new RingCounters(historyLimit: 10);
        c.SetEnabled(0, true);
        c.CountFrame(0, true);
        var session = SessionReport.Of(3, DateTimeOffset.UnixEpoch, null, c, ringCount: 2, FeatureSet.Of(FeatureBit.Version1, FeatureBit.RingPacked));
        var path = Path.Combine(Path.GetTempPath(), $"vmq-stats-{Guid.NewGuid():N}.json");
        try
        {
            Assert.That(new StatsFile(path, TimeSpan.Zero).TryWrite(new StatsReport("/tmp/x.sock", 1, "exit", DateTimeOffset.UnixEpoch, 1.5, 0, [session])), Is.Null);
            var back = StatsFile.Read(path);
            Assert.That(back.Sessions.Single().Rings.Select(r => (r.Queue, r.Frames, r.Enabled, r.History.Count)),
                Is.EqualTo(new[] { ("receiveq1", 1L, true, 1), ("transmitq1", 0L, false, 0) }));
            Assert.That((back.Sessions.Single().Features, back.Sessions.Single().RingFormat), Is.EqualTo((1UL << 32 | 1UL << 34, "packed")));
            Assert.That(File.Exists(path + ".tmp"), Is.False, "the temporary file is renamed over the target");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
