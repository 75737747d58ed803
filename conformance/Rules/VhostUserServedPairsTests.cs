using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// The queue count a vhost-user back-end reports. Its check drives as many pairs as GET_QUEUE_NUM claims, beyond what
/// the device URI's pairs=N lets the other checks use, since an overstated count hurts exactly the front-end that
/// believes it; a back-end without the buffers for that many pairs may not survive it (Open vSwitch removes its port
/// for good when it cannot size them). So it runs last: NUnit orders fixtures by name, and this one's sorts after every
/// other fixture's. Should that order change, the suite still blames nothing on a later check: DeviceHealth stops the run
/// once a device is left broken.
/// </summary>
[TestFixture, Category("vhost-user")]
public sealed class VhostUserServedPairsTests
{
    /// <summary>
    /// GET_QUEUE_NUM must cover the pairs the back-end really serves: open it with as many pairs as it claims
    /// (vhost-user can address 128) and check a frame on a random pair among them comes back.
    /// </summary>
    public static Property QueueNumIsTruthful(SuiteContext ctx)
    {
        int claimed;
        using (var probe = ctx.Open()) claimed = (int)Math.Min(VhostUserDataPlaneTests.Backend(probe).QueueNum ?? 1, 128);
        if (claimed < 1)
            return Prop.ForAll(Gen.Constant(claimed).ToArbitrary(), n =>
                Expect.That(false, Rule.VuMqGetQueueNumReply, $"GET_QUEUE_NUM answered {n}: a back-end serves at least one queue pair"));
        var claimedCtx = ctx.With(ctx.Device.With("pairs", claimed.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return Prop.ForAll(Gen.Choose(1, claimed).ToArbitrary(), k =>
        {
            using var s = claimedCtx.Open();
            var d = s.Driver;
            d.Initialize(pairs: k);
            if (k > 1) Expect.That(d.VqPairsSet(k) == NetAck.Ok, Rule.VuMqGetQueueNumReply, $"VQ_PAIRS_SET({k}) refused by the front-end model");
            Probes.Owed(d, k, k, Rule.VuMqGetQueueNumReply,
                $"GET_QUEUE_NUM claims {claimed} queue pair(s), but a frame sent on transmitq{k} (vring {NetQueueLayout.Transmitq(k)}) with {k} pairs enabled never came back: the back-end does not serve pair {k}");
        });
    }

    public static readonly SuiteCheck QueueNum = new(nameof(GET_QUEUE_NUM_covers_only_pairs_the_back_end_serves), QueueNumIsTruthful,
        [Rule.VuMqGetQueueNumReply], [Plane.Data], 10, vhostUserOnly: true);

    [Test, Check]
    public void GET_QUEUE_NUM_covers_only_pairs_the_back_end_serves() => Suite.Verify(QueueNum);
}
