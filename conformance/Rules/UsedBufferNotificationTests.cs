using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// Used buffer notifications (§2.7.7.2): without EVENT_IDX the device notifies after a used update unless
/// the driver set VIRTQ_AVAIL_F_NO_INTERRUPT; with EVENT_IDX it ignores that flag and notifies when the used
/// index passes used_event. Both halves are judged: a queue that owes a notification gets one (MUST), and a
/// batch that writes no entry the driver asked to hear about brings none (SHOULD NOT: each one costs a guest an
/// interrupt it turned off). The other queues of a case are set up so that they owe none, so a missing
/// notification is never hidden by another queue's, nor a spurious one blamed on the wrong queue, whatever the
/// transport can tell apart.
/// </summary>
[TestFixture, Category("Ring")]
public sealed class UsedBufferNotificationTests
{
    public enum Side { Transmitq, Receiveq, Controlq }

    /// <param name="Before">Frames looped back first, so the indices are not at 0.</param>
    /// <param name="Batch">Buffers the device uses in one go on the judged queue.</param>
    /// <param name="Crossing">With EVENT_IDX: which of the batch's used entries used_event names (0-based).</param>
    /// <param name="FlagSet">VIRTQ_AVAIL_F_NO_INTERRUPT on the judged queue; EVENT_IDX tells the device to ignore it.</param>
    public sealed record NotificationCase(bool EventIdx, Side Side, int Before, int Batch, int Crossing, bool FlagSet)
    {
        public override string ToString() =>
            $"{(EventIdx ? "EVENT_IDX" : "no EVENT_IDX")}, {Side}, {Before} frame(s) before, {Batch} buffer(s) used at once" +
            (EventIdx ? $", used_event at entry {Crossing} of them, NO_INTERRUPT {(FlagSet ? "set (to be ignored)" : "clear")}" : "");
    }

    /// <summary>
    /// Every queue with and without EVENT_IDX, and with EVENT_IDX both states of the flag it must ignore, in every case;
    /// the indices, the batch and where used_event falls in it are random.
    /// </summary>
    private static readonly (bool eventIdx, Side side, bool flag)[] NotificationVariants =
    [
        .. from eventIdx in new[] { false, true }
           from side in Variants.Of<Side>()
           from flag in eventIdx ? new[] { false, true } : [false]
           select (eventIdx, side, flag),
    ];

    public static Arbitrary<EveryVariant<NotificationCase>> Cases { get; } = Variants.Each(NotificationVariants,
        v => from before in Gen.Choose(0, 5)
             from batch in v.side == Side.Controlq ? Gen.Choose(1, 3) : Gen.Choose(1, 6)
             from crossing in Gen.Choose(0, batch - 1)
             select new NotificationCase(v.eventIdx, v.side, before, batch, v.eventIdx ? crossing : 0, v.flag), Shrink);

    /// <summary>The sub-cases the check used to spend on 60 cases of one variant each.</summary>
    public static int CaseCount { get; } = Variants.CasesFor(60, NotificationVariants.Length);

    private static IEnumerable<NotificationCase> Shrink(NotificationCase c)
    {
        if (c.Before > 0) yield return c with { Before = 0 };
        if (c.Batch > 1) yield return c with { Batch = 1, Crossing = 0 };
        if (c.Crossing > 0) yield return c with { Crossing = 0 };
        if (c.FlagSet) yield return c with { FlagSet = false };
    }

    public static Property NotificationsAreSentWhenOwed(SuiteContext ctx) =>
        Variants.ForEach(Cases, c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            // used_event names entry Crossing of the batch; the flag is set only where EVENT_IDX says to ignore it.
            if (UseBatch(d, c.EventIdx, c.Side, c.Before, c.Batch, usedEvent: c.Crossing, noInterrupt: c.FlagSet) is not { } b) return;
            var rule = c.EventIdx ? Rule.RingNotifDevEventIdx : Rule.RingNotifDevNoEventIdx;
            var notified = d.Device.WaitForNotification(d.Device.SettleTime == TimeSpan.Zero ? TimeSpan.Zero : d.Options.Timeout);
            Expect.That(notified, rule, c.EventIdx
                ? $"{Describe(d, b.Judged)}: used idx went from {b.UsedBefore} to {b.Judged.DeviceUsedIdx}, passing used_event {(ushort)(b.UsedBefore + c.Crossing)}, and no notification came"
                  + (c.FlagSet ? " (VIRTQ_AVAIL_F_NO_INTERRUPT was set, which a device must ignore with EVENT_IDX)" : "")
                : $"{Describe(d, b.Judged)}: used idx went from {b.UsedBefore} to {b.Judged.DeviceUsedIdx} with the avail flags 0, and no notification came");
        });

    /// <param name="UsedEvent">With EVENT_IDX: the entry used_event names, counted from the batch's first; always outside
    /// the batch, so no entry the device writes is the one the driver asked to hear about.</param>
    public sealed record QuietCase(bool EventIdx, Side Side, int Before, int Batch, int UsedEvent)
    {
        public override string ToString() =>
            $"{(EventIdx ? "EVENT_IDX" : "no EVENT_IDX")}, {Side}, {Before} frame(s) before, {Batch} buffer(s) used at once, " +
            (EventIdx ? $"used_event at entry {UsedEvent} (the batch is entries 0..{Batch - 1})" : "VIRTQ_AVAIL_F_NO_INTERRUPT set");
    }

    /// <summary>
    /// Where used_event lies with EVENT_IDX, never on an entry of the batch. Just before the batch and just after it are
    /// the edges an off-by-one misses; the farther ones catch a device that compares without wrapping or against a
    /// stale index.
    /// </summary>
    public enum UsedEventAt { JustBefore, JustAfter, BeforeTheEarlierFrames, SevenPast, HalfARingAway }

    private static int Offset(UsedEventAt at, int before, int batch) => at switch
    {
        UsedEventAt.JustBefore => -1,
        UsedEventAt.JustAfter => batch,
        UsedEventAt.BeforeTheEarlierFrames => -2 - before,
        UsedEventAt.SevenPast => batch + 7,
        _ => FarAway,
    };

    /// <summary>Every queue without EVENT_IDX, and with it every queue and every place of used_event, in every case.</summary>
    private static readonly (bool eventIdx, Side side, UsedEventAt at)[] QuietVariants =
    [
        .. from side in Variants.Of<Side>() select (false, side, UsedEventAt.JustBefore),
        .. from side in Variants.Of<Side>() from at in Variants.Of<UsedEventAt>() select (true, side, at),
    ];

    public static Arbitrary<EveryVariant<QuietCase>> QuietCases { get; } = Variants.Each(QuietVariants,
        v => from before in Gen.Choose(0, 5)
             from batch in v.side == Side.Controlq ? Gen.Choose(1, 3) : Gen.Choose(1, 6)
             select new QuietCase(v.eventIdx, v.side, before, batch, v.eventIdx ? Offset(v.at, before, batch) : 0), ShrinkQuiet);

    /// <summary>The sub-cases the check used to spend on 40 cases of one variant each.</summary>
    public static int QuietCaseCount { get; } = Variants.CasesFor(40, QuietVariants.Length);

    private static IEnumerable<QuietCase> ShrinkQuiet(QuietCase c)
    {
        if (c.Before > 0) yield return c with { Before = 0 };
        if (c.Batch > 1) yield return c with { Batch = 1, UsedEvent = c.UsedEvent >= c.Batch ? 1 : c.UsedEvent };
    }

    public static Property NoNotificationWhenNoneIsOwed(SuiteContext ctx) =>
        Variants.ForEach(QuietCases, c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            if (UseBatch(d, c.EventIdx, c.Side, c.Before, c.Batch, usedEvent: c.UsedEvent, noInterrupt: !c.EventIdx, kickIdleReceiveq: true) is not { } b) return;
            // Over a socket a notification is a write to an eventfd, so it may trail the used idx: give it the settle time.
            var notified = d.Device.WaitForNotification(d.Device.SettleTime);
            Expect.That(!notified, c.EventIdx ? Rule.RingNotifDevEventIdxQuiet : Rule.RingNotifDevNoEventIdxQuiet, c.EventIdx
                ? $"{Describe(d, b.Judged)}: used idx went from {b.UsedBefore} to {b.Judged.DeviceUsedIdx} without writing entry {(ushort)(b.UsedBefore + c.UsedEvent)} (used_event), and a notification came"
                : $"{Describe(d, b.Judged)}: used idx went from {b.UsedBefore} to {b.Judged.DeviceUsedIdx} with VIRTQ_AVAIL_F_NO_INTERRUPT set, and a notification came");
        });

    private sealed record Batch(DriverVirtqueue Judged, ushort UsedBefore);

    /// <summary>
    /// Sets up one pair with or without EVENT_IDX, loops <paramref name="before"/> frames back so the indices are not
    /// at 0, makes every other queue owe nothing, sets the judged queue's used_event (entry <paramref name="usedEvent"/>
    /// of the batch) and avail flags, drains pending notifications, then has the device use <paramref name="batch"/>
    /// buffers on the judged queue in one go. With <paramref name="kickIdleReceiveq"/> a receive buffer is posted and kicked
    /// first, a kick that uses nothing and so owes no notification either. Null when the device cannot run the case (a feature not offered);
    /// buffers that never come back used end the case on the rule they break.
    /// </summary>
    private static Batch? UseBatch(NetDriver d, bool eventIdx, Side side, int before, int batch, int usedEvent, bool noInterrupt, bool kickIdleReceiveq = false)
    {
        d.BeginNegotiation();
        var features = PairsRangeTests.NetDriverDefaults(d.Offered);
        if (eventIdx != features.Has(FeatureBit.EventIdx))
        {
            if (eventIdx) { ThisCase.NotApplicable("the device does not offer VIRTIO_F_EVENT_IDX"); return null; }
            features = features.Without(FeatureBit.EventIdx);
        }
        if (side == Side.Controlq && !features.Has(FeatureBit.NetCtrlVq)) { ThisCase.NotApplicable("the device does not offer VIRTIO_NET_F_CTRL_VQ"); return null; }
        Probes.Initialize(d, features, 1);
        for (var i = 0; i < before; i++) d.SendAndLocate(1, flow: i, d.ResponseWait);
        d.ClearReceived();

        var tx = d.Queue(NetQueueLayout.Transmitq(1));
        var rx = d.Queue(NetQueueLayout.Receiveq(1));
        // A device may return transmit buffers after the looped-back frame arrived: let it finish, or the batch below
        // would be judged from a used idx the device was still moving.
        d.TryWaitUntil(() => tx.DeviceUsedIdx == tx.PublishedIdx, d.ResponseWait);
        var judged = side switch
        {
            Side.Transmitq => tx,
            Side.Receiveq => rx,
            _ => d.Queue(d.Layout.ControlqIndex!.Value),
        };
        foreach (var q in new[] { tx, rx }.Where(q => q != judged)) OweNothing(d, q, eventIdx);
        var usedBefore = judged.DeviceUsedIdx;
        // A controlq command takes two descriptors (the command and its ack), a frame one.
        var perBuffer = side == Side.Controlq ? 2 : 1;
        if (eventIdx)
            judged.AskForNotificationAt(usedEvent == FarAway ? FarEntry(judged, perBuffer) : usedEvent, perBuffer, noInterrupt);
        else if (noInterrupt)
            judged.AskForNoNotification(eventIdx: false);
        else
            judged.AskForEveryNotification();
        while (d.Device.WaitForNotification(d.Device.SettleTime)) { }
        if (kickIdleReceiveq && rx.Add([], [d.Options.ReceiveBufferBytes], tag: "rx") is not null)
        {
            rx.Publish();
            d.Device.Kick(rx.Index);
        }

        // Buffers go in and the kick is sent directly: the driver's own waits would take notifications.
        var owner = side == Side.Receiveq ? tx : judged;
        for (var i = 0; i < batch; i++)
        {
            if (side == Side.Controlq)
                owner.Add([[NetControl.ClassMq, NetControl.MqVqPairsSet, 1, 0]], [1], tag: "command");
            else
                owner.Add([[.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(100 + i, 0xB0000 + (ulong)i)]], [], tag: "tx");
        }
        owner.Publish();
        d.Device.Kick(owner.Index);

        // Polled, not waited for with the driver's wait: that one sleeps on notifications and would take the one judged here.
        var clock = Stopwatch.StartNew();
        var limit = Patience.Current.Cap(d.Options.Timeout);
        while ((ushort)(judged.DeviceUsedIdx - usedBefore) < batch && clock.Elapsed < limit) Thread.Sleep(1);
        var used = (ushort)(judged.DeviceUsedIdx - usedBefore);
        // Buffers that never come back leave nothing to judge of notifications, but they are a finding of their own.
        if (used < batch)
            throw side == Side.Receiveq
                ? Expect.Violated(Rule.NetTxDefSent, $"frame lost: of {batch} frame(s) sent on transmitq1, {used} reached {Describe(d, judged)}")
                : Expect.Violated(Rule.RingUsedDefReturnsBuffers, $"of {batch} buffer(s) made available on {Describe(d, judged)} and kicked, {used} came back used");
        return new Batch(judged, usedBefore);
    }

    /// <summary>Makes a queue owe no notification for the updates the case causes on it.</summary>
    private static void OweNothing(NetDriver d, DriverVirtqueue q, bool eventIdx) => q.AskForNoNotification(eventIdx);

    /// <summary>
    /// The entry farthest from the batch: half the 16-bit index space on a split ring; on a packed ring, the batch's first
    /// position in the other lap, which a device that ignores the wrap bit takes for the batch's own.
    /// </summary>
    private static int FarEntry(DriverVirtqueue q, int perBuffer) => q.Format == RingFormat.Packed ? q.Size / perBuffer : FarAway;

    private const int FarAway = 0x7FFF;

    private static string Describe(NetDriver d, DriverVirtqueue q) => $"vq {q.Index} ({d.Layout.Identify(q.Index)})";

    public static readonly SuiteCheck NotifiedWhenOwed = new(nameof(A_used_buffer_notification_comes_when_the_driver_asked_for_one), NotificationsAreSentWhenOwed,
        [Rule.RingNotifDevNoEventIdx, Rule.RingNotifDevEventIdx], [Plane.Data, Plane.Control], CaseCount);

    public static readonly SuiteCheck QuietWhenNotOwed = new(nameof(No_used_buffer_notification_comes_when_the_driver_asked_for_none), NoNotificationWhenNoneIsOwed,
        [Rule.RingNotifDevNoEventIdxQuiet, Rule.RingNotifDevEventIdxQuiet], [Plane.Data, Plane.Control], QuietCaseCount);

    [Test, Check]
    public void A_used_buffer_notification_comes_when_the_driver_asked_for_one() => Suite.Verify(NotifiedWhenOwed);

    [Test, Check, Category("Should")]
    public void No_used_buffer_notification_comes_when_the_driver_asked_for_none() => Suite.Verify(QuietWhenNotOwed);
}
