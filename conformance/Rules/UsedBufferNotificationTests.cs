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
/// index passes used_event. Only the MUST half is judged: a queue that owes a notification gets one. The
/// other queues of a case are set up so that they owe none, so a missing notification is never hidden by
/// another queue's, whatever the transport can tell apart.
/// </summary>
[TestFixture, Category("Ring"), Plane(Plane.Data, Plane.Control)]
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

    private static Gen<NotificationCase> Cases =>
        from eventIdx in Gen.Elements(true, false)
        from side in Gen.Elements(Enum.GetValues<Side>())
        from before in Gen.Choose(0, 5)
        from batch in side == Side.Controlq ? Gen.Choose(1, 3) : Gen.Choose(1, 6)
        from crossing in Gen.Choose(0, batch - 1)
        from flag in Gen.Elements(true, false)
        select new NotificationCase(eventIdx, side, before, batch, eventIdx ? crossing : 0, eventIdx && flag);

    private static IEnumerable<NotificationCase> Shrink(NotificationCase c)
    {
        if (c.Before > 0) yield return c with { Before = 0 };
        if (c.Batch > 1) yield return c with { Batch = 1, Crossing = 0 };
        if (c.Crossing > 0) yield return c with { Crossing = 0 };
        if (c.FlagSet) yield return c with { FlagSet = false };
    }

    public static Property NotificationsAreSentWhenOwed(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Cases, Shrink), c =>
        {
            using var s = ctx.Open();
            var d = s.Driver;
            d.BeginNegotiation();
            var features = PairsRangeTests.NetDriverDefaults(d.Offered);
            if (c.EventIdx != features.Has(FeatureBit.EventIdx))
            {
                if (c.EventIdx) return; // the device does not offer EVENT_IDX
                features = features.Without(FeatureBit.EventIdx);
            }
            if (c.Side == Side.Controlq && !features.Has(FeatureBit.NetCtrlVq)) return;
            Probes.Initialize(d, features, 1);
            for (var i = 0; i < c.Before; i++) d.SendAndLocate(1, flow: i, d.ResponseWait);
            d.ClearReceived();

            var tx = d.Queue(NetQueueLayout.Transmitq(1));
            var rx = d.Queue(NetQueueLayout.Receiveq(1));
            var judged = c.Side switch
            {
                Side.Transmitq => tx,
                Side.Receiveq => rx,
                _ => d.Queue(d.Layout.ControlqIndex!.Value),
            };
            foreach (var q in new[] { tx, rx }.Where(q => q != judged)) OweNothing(d, q, c.EventIdx);
            var usedBefore = judged.DeviceUsedIdx;
            if (c.EventIdx)
                d.Device.Memory.WriteU16(judged.Registers.Avail + (ulong)SplitRing.UsedEventOffset(judged.Size), (ushort)(usedBefore + c.Crossing));
            d.Device.Memory.WriteU16(judged.Registers.Avail, c.FlagSet ? SplitRing.AvailFNoInterrupt : (ushort)0);
            while (d.Device.WaitForNotification(TimeSpan.Zero)) { }

            // Buffers go in and the kick is sent directly: the driver's own waits would take notifications.
            var owner = c.Side == Side.Receiveq ? tx : judged;
            for (var i = 0; i < c.Batch; i++)
            {
                if (c.Side == Side.Controlq)
                    owner.Add([[NetControl.ClassMq, NetControl.MqVqPairsSet, 1, 0]], [1], tag: "command");
                else
                    owner.Add([[.. new byte[SplitRing.NetHeaderSize], .. TestFrames.Udp(100 + i, 0xB0000 + (ulong)i)]], [], tag: "tx");
            }
            owner.Publish();
            d.Device.Kick(owner.Index);

            var clock = Stopwatch.StartNew();
            while ((ushort)(judged.DeviceUsedIdx - usedBefore) < c.Batch && clock.Elapsed < d.Options.Timeout) Thread.Sleep(1);
            var used = (ushort)(judged.DeviceUsedIdx - usedBefore);
            if (used < c.Batch) return; // a device that did not use the buffers is judged by the loopback and controlq rules
            var rule = c.EventIdx ? "ring.notif.dev.event-idx" : "ring.notif.dev.no-event-idx";
            var notified = d.Device.WaitForNotification(d.Device.SettleTime == TimeSpan.Zero ? TimeSpan.Zero : d.Options.Timeout);
            Expect.That(notified, rule, c.EventIdx
                ? $"{Describe(d, judged)}: used idx went from {usedBefore} to {judged.DeviceUsedIdx}, passing used_event {(ushort)(usedBefore + c.Crossing)}, and no notification came"
                  + (c.FlagSet ? " (VIRTQ_AVAIL_F_NO_INTERRUPT was set, which a device must ignore with EVENT_IDX)" : "")
                : $"{Describe(d, judged)}: used idx went from {usedBefore} to {judged.DeviceUsedIdx} with the avail flags 0, and no notification came");
        });

    /// <summary>Makes a queue owe no notification for the updates the case causes on it.</summary>
    private static void OweNothing(NetDriver d, DriverVirtqueue q, bool eventIdx)
    {
        if (eventIdx)
            // used_event one behind the used idx: it is passed again only after 65536 more entries.
            d.Device.Memory.WriteU16(q.Registers.Avail + (ulong)SplitRing.UsedEventOffset(q.Size), (ushort)(q.DeviceUsedIdx - 1));
        else
            d.Device.Memory.WriteU16(q.Registers.Avail, SplitRing.AvailFNoInterrupt);
    }

    private static string Describe(NetDriver d, DriverVirtqueue q) => $"vq {q.Index} ({d.Layout.Identify(q.Index)})";

    [Test, Requirement("ring.notif.dev.no-event-idx", "ring.notif.dev.event-idx")]
    public void A_used_buffer_notification_comes_when_the_driver_asked_for_one() =>
        Suite.Verify(NotificationsAreSentWhenOwed(SuiteContext.Current), cases: 60);
}
