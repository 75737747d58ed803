using VirtioMq.Adapters.Driver;
using VirtioMq.Reference.Net;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Reference;

/// <summary>
/// The back-end's data plane takes turns (LoopbackDataPlane.TurnBudget): a transmitq gives up the thread after a
/// bounded number of buffers and the rest is taken on a later turn, in order, with nothing lost or repeated.
/// </summary>
[TestFixture]
public sealed class LoopbackTurnTests
{
    [Test]
    public void A_transmitq_with_more_buffers_than_one_turn_is_finished_from_the_backlog()
    {
        using var memory = new SharedGuestMemory();
        var alloc = new GuestAllocator(SharedGuestMemory.Base, memory.Size);
        var rx = new SplitDriverVirtqueue(memory.Driver, alloc, 0, 16, eventIdx: false);
        var tx = new SplitDriverVirtqueue(memory.Driver, alloc, 1, 16, eventIdx: false);
        var counters = new RingCounters(historyLimit: 10);
        var plane = new LoopbackDataPlane(memory.Device, new ReferenceOptions(1), _ => { }, counters) { TurnBudget = 2 };
        plane.StartQueue(0, rx.Registers, FeatureSet.Of(FeatureBit.Version1));
        plane.StartQueue(1, tx.Registers, FeatureSet.Of(FeatureBit.Version1));
        plane.SetActivePairs(1, 1);
        for (var i = 0; i < 5; i++) rx.Add([], [2048]);
        rx.Publish();
        for (var tag = 1UL; tag <= 5; tag++) tx.Add([new byte[SplitRing.NetHeaderSize], TestFrames.Udp(1, tag)], []);
        tx.Publish();

        plane.Notify(1);
        Assert.That((counters.Frames(1), plane.HasBacklog), Is.EqualTo((2L, true)), "after the kick: one turn of 2 buffers, the rest waiting");
        Assert.That(tx.DeviceUsedIdx, Is.EqualTo(2), "the buffers of the turn are returned at its end");
        plane.ServeBacklog();
        plane.ServeBacklog();
        Assert.That((counters.Frames(1), plane.HasBacklog), Is.EqualTo((5L, false)), "two more turns take the last three");

        var received = new List<ulong?>();
        while (rx.TakeUsed() is { } used) received.Add(TestFrames.TagOf(used.Written.AsSpan(SplitRing.NetHeaderSize)));
        Assert.That(received, Is.EqualTo(new ulong?[] { 1, 2, 3, 4, 5 }), "frames received, in order");
    }
}
