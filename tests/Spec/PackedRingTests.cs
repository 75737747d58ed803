using VirtioMq.Spec;
using VirtioMq.Spec.VhostUser;

namespace VirtioMq.Tests.Spec;

/// <summary>The packed ring's shared arithmetic: positions, flag tests, the vring base and the DESC event test.</summary>
[TestFixture]
public sealed class PackedRingTests
{
    [Test]
    public void A_position_flips_its_wrap_counter_at_each_lap()
    {
        var start = PackedPosition.Start;
        Assert.That(start.Advance(5, 8), Is.EqualTo(new PackedPosition(5, true)));
        Assert.That(start.Advance(8, 8), Is.EqualTo(new PackedPosition(0, false)));
        Assert.That(start.Advance(19, 8), Is.EqualTo(new PackedPosition(3, true)));
        Assert.That(new PackedPosition(6, false).Advance(3, 7), Is.EqualTo(new PackedPosition(2, true)), "sizes need not be powers of two");
    }

    [Test]
    public void Available_and_used_read_the_two_bits_against_the_wrap_counter()
    {
        foreach (var wrap in new[] { true, false })
        {
            Assert.That(PackedRing.IsAvailable(PackedRing.AvailFlags(wrap), wrap), Is.True);
            Assert.That(PackedRing.IsUsed(PackedRing.AvailFlags(wrap), wrap), Is.False);
            Assert.That(PackedRing.IsUsed(PackedRing.UsedFlags(wrap), wrap), Is.True);
            Assert.That(PackedRing.IsAvailable(PackedRing.UsedFlags(wrap), wrap), Is.False);
            // What the other lap wrote is neither, in this lap.
            Assert.That(PackedRing.IsAvailable(PackedRing.AvailFlags(!wrap), wrap) || PackedRing.IsUsed(PackedRing.AvailFlags(!wrap), wrap), Is.False);
        }
        Assert.That(PackedRing.IsAvailable(0, true) || PackedRing.IsUsed(0, true), Is.False, "a zeroed ring holds nothing in the first lap");
    }

    [Test]
    public void The_vring_base_carries_both_positions_with_their_wrap_counters()
    {
        var b = new PackedVringBase(new PackedPosition(5, false), new PackedPosition(3, true));
        Assert.That(b.Encode(), Is.EqualTo(0x8003_0005u));
        Assert.That(PackedVringBase.Decode(b.Encode()), Is.EqualTo(b));
        Assert.That(PackedVringBase.Start.Encode(), Is.EqualTo(0x8000_8000u), "a fresh ring: offset 0, both wrap counters 1");
    }

    [TestCase(0, true, 0, true, 1, true, true, TestName = "the first entry, when asked for")]
    [TestCase(1, true, 0, true, 1, true, false, TestName = "not yet reached")]
    [TestCase(3, true, 2, true, 6, true, true, TestName = "inside the batch")]
    [TestCase(7, true, 6, true, 2, false, true, TestName = "a batch across the ring end, before the end")]
    [TestCase(1, false, 6, true, 2, false, true, TestName = "a batch across the ring end, after it")]
    [TestCase(1, true, 6, true, 2, false, false, TestName = "the same offset in the other lap is not reached")]
    public void A_DESC_event_is_reached_once_its_descriptor_is_in_the_batch(int off, bool wrap, int oldPos, bool oldWrap, int nowPos, bool nowWrap, bool reached) =>
        Assert.That(PackedRing.EventReached(PackedRing.OffWrap(off, wrap), 8, (oldPos, oldWrap), (nowPos, nowWrap)), Is.EqualTo(reached));
}
