using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Properties;

/// <summary>Small driver actions with the model's judgement attached, shared by the properties.</summary>
public static class Probes
{
    /// <summary>
    /// Sends a tagged frame on transmitq <paramref name="txPair"/>, waits as long as the model says the device
    /// owes an answer, and throws the model's first violation among <paramref name="checkedIds"/>.
    /// </summary>
    public static int? Loopback(NetDriver driver, MqDeviceModel model, int txPair, int flow, params string[] checkedIds) =>
        Judged(driver, model, txPair, wait => driver.SendAndLocate(txPair, flow, wait), checkedIds);

    /// <summary>Like <see cref="Loopback"/>, for a frame of the caller's making, found again by its bytes.</summary>
    public static int? LoopbackFrame(NetDriver driver, MqDeviceModel model, int txPair, byte[] frame, params string[] checkedIds) =>
        Judged(driver, model, txPair, wait => driver.SendAndLocate(txPair, frame, wait), checkedIds);

    /// <summary>Flows other than the lost one, tried before the queue layout is blamed.</summary>
    private const int OtherFlows = 32;

    private static int? Judged(NetDriver driver, MqDeviceModel model, int txPair, Func<TimeSpan, int?> sendAndLocate, string[] checkedIds)
    {
        var mustArrive = model.Live && txPair <= model.CurrentPairs;
        var at = sendAndLocate(mustArrive ? driver.ResponseWait : driver.Device.SettleTime);
        var violations = model.JudgeLoopback(txPair, at);
        // A frame the device owed never came back. Whatever rule this test checks, nothing after it can be
        // judged, and on a device that loses frames every further owed frame would wait out a full timeout
        // (hours over a case run): end the case on the loss, named as the rule it breaks.
        if (mustArrive && at is null && violations.Count > 0)
        {
            // The same frame again (its flow with a new tag, or the caller's same bytes): if it comes back, the device lost one frame.
            ThrowIfOneFrameLost(driver, txPair, violations[0].Message, () => sendAndLocate(driver.ResponseWait));
            // Not one frame has come back from this device, and this flow on transmitq1 stays silent: the first suspect
            // is the queue layout of §5.1.2 (receive and transmit swapped, or another numbering), unless frames of other
            // flows do come back: then the device carries frames and loses this flow's, which is the check's own finding
            // (a device that steers some flows to a receiveq it must not use looks like this).
            if (txPair == 1 && driver.FramesDelivered == 0 && !OtherFlowsComeBack(driver, txPair))
                throw Expect.Violated(Rule.NetVqDefLayout, $"no frame has come back from this device: {violations[0].Message}; " +
                    "a device that does not use receiveq1 = vq 0 and transmitq1 = vq 1 looks like this, as does one that drops all traffic");
            throw new ConformanceViolationException(violations[0]);
        }
        Expect.None(violations, checkedIds);
        return at;
    }

    /// <summary>
    /// Sends a series of tagged frames with the device state fixed, judging each like <see cref="Loopback"/>.
    /// Frames the device owes an answer for are sent and awaited one by one; frames it may drop (sent on a
    /// transmitq above the pairs) are sent back to back and share a single settle wait, which is what keeps
    /// a run over a socket fast. Judged in the order sent, so the first violation reported is the first made.
    /// </summary>
    public static void LoopbackAll(NetDriver driver, MqDeviceModel model, IEnumerable<(int TxPair, int Flow)> sends, params string[] checkedIds)
    {
        var optional = new List<(int TxPair, ulong Tag)>();
        // Automatic steering is by flow (§5.1.9.5.6): frames of one flow sent from one transmitq, with nothing of that
        // flow sent elsewhere in between, land on one receiveq, or move once onto that transmitq's own receiveq as the
        // device learns the flow. Where is free (follow-tx is a SHOULD); scattering is not.
        var flowLandedOn = new Dictionary<int, (int TxPair, int RxPair)>();
        foreach (var (txPair, flow) in sends)
        {
            if (model.Live && txPair <= model.CurrentPairs)
            {
                var at = Loopback(driver, model, txPair, flow, checkedIds);
                if (model.MultiqueueNegotiated && model.PairsSetSinceReset && at is { } rx)
                {
                    // Sending is what programs the steering (it is implicit, §5.1.9.5.6), so a flow that moves onto the receiveq
                    // of its own transmitq is following it, late (judged by net.mq.dev.follow-tx), not scattered.
                    if (flowLandedOn.TryGetValue(flow, out var before) && before.TxPair == txPair && checkedIds.Contains(Rule.NetMqDevAutoSteering))
                        Expect.That(before.RxPair == rx || rx == txPair, Rule.NetMqDevAutoSteering,
                            $"flow {flow} sent again from transmitq{txPair} landed on receiveq{rx}, its previous frame on receiveq{before.RxPair}: not steered by flow");
                    flowLandedOn[flow] = (txPair, rx);
                }
            }
            else
            {
                // A frame of the flow on another queue may move it (follow-tx): judge its next frames afresh.
                flowLandedOn.Remove(flow);
                optional.Add((txPair, driver.TransmitTagged(txPair, flow)));
            }
            // A faulty device may deliver what it should drop; take it off the rings at once so its buffers
            // are replaced and a frame the device owes an answer for is never lost for want of one.
            driver.CollectReceived();
        }
        if (optional.Count == 0) return;
        var found = new Dictionary<ulong, int>();
        driver.TryWaitUntil(() =>
        {
            foreach (var (_, tag) in optional)
                if (!found.ContainsKey(tag) && driver.Claim(tag) is { } hit) found[tag] = hit.Pair;
            return found.Count == optional.Count;
        }, driver.Device.SettleTime);
        foreach (var (txPair, tag) in optional)
            Expect.None(model.JudgeLoopback(txPair, found.TryGetValue(tag, out var p) ? p : null), checkedIds);
    }

    /// <summary>
    /// Whether a frame of any of <see cref="OtherFlows"/> flows the checks do not use comes back from transmitq
    /// <paramref name="txPair"/>: all are sent, then one wait. Enough flows that a device steering each to one of 8
    /// receiveqs at random, only one of them set up, still brings one back (a 1 in 70 chance that none comes).
    /// </summary>
    private static bool OtherFlowsComeBack(NetDriver driver, int txPair)
    {
        var tags = new List<ulong>();
        try
        {
            for (var flow = 1; flow <= OtherFlows; flow++) tags.Add(driver.TransmitTagged(txPair, 1000 + flow));
        }
        catch (DeviceProtocolException)
        {
            // The queue takes no more frames: wait for the ones it took.
        }
        return tags.Count > 0 && driver.TryWaitUntil(() => tags.Exists(t => driver.Claim(t) is not null), driver.ResponseWait);
    }

    /// <summary>
    /// After an owed frame on transmitq <paramref name="txPair"/> did not come back, tells a lost frame from a queue
    /// that does not work: one more tagged frame goes the same way, and if that one comes back, the device lost a
    /// frame (net.tx.def.sent), whatever the check was varying. Only when the queue stays silent is the check's own
    /// rule to blame. Without this, a device that drops one frame is reported as breaking whichever rule each check
    /// happened to be about (ring sizes, descriptor layouts, pair counts).
    /// </summary>
    /// <param name="sendAgain">
    /// Sends the same kind of frame again, the same way (the same descriptor layout, the same queue), and returns the
    /// receiveq it came back on or null; by default a tagged frame on transmitq <paramref name="txPair"/>, for checks whose
    /// variable is the queue set-up rather than the frame.
    /// </param>
    public static void ThrowIfOneFrameLost(NetDriver driver, int txPair, string lost, Func<int?>? sendAgain = null)
    {
        int? again;
        try
        {
            again = sendAgain is null ? driver.SendAndLocate(txPair, flow: 0, driver.ResponseWait) : sendAgain();
        }
        catch (DeviceProtocolException)
        {
            return; // the queue does not take even that frame (a probe, not a finding): the check's own rule stands
        }
        if (again is { } rx)
            throw Expect.Violated(Rule.NetTxDefSent,
                $"frame lost: {(lost.StartsWith("frame lost: ", StringComparison.Ordinal) ? lost["frame lost: ".Length..] : lost)}; the same frame sent again on transmitq{txPair} came back (on receiveq{rx}), so the device can carry it and lost the first");
    }

    /// <summary>
    /// Sends a tagged frame the device owes back on transmitq <paramref name="txPair"/>: returns the receiveq it came back
    /// on; one that never comes back breaks <paramref name="rule"/>, unless it was one frame lost (<see cref="Lost"/>).
    /// </summary>
    public static int Owed(NetDriver driver, int txPair, int flow, string rule, string message) =>
        driver.SendAndLocate(txPair, flow, driver.Options.Timeout)
        ?? throw Lost(driver, txPair, rule, message, () => driver.SendAndLocate(txPair, flow, driver.ResponseWait));

    /// <summary>The violation of <paramref name="rule"/> for an owed frame that did not come back, unless it was one lost frame (<see cref="ThrowIfOneFrameLost"/>).</summary>
    public static ConformanceViolationException Lost(NetDriver driver, int txPair, string rule, string message, Func<int?>? sendAgain = null)
    {
        ThrowIfOneFrameLost(driver, txPair, message, sendAgain);
        return Expect.Violated(rule, message);
    }

    // A check that catches the driver's DeviceProtocolException to name its own rule does so only `when (e.RequirementId
    // is null)`: an exception that already names the rule the device broke (a lost or duplicated frame, a short used
    // length) is that finding, and must not be reported as whatever the check was about.

    /// <summary>VQ_PAIRS_SET(n) judged against the model; returns the model after it.</summary>
    public static MqDeviceModel PairsSet(NetDriver driver, MqDeviceModel model, int n, params string[] checkedIds)
    {
        NetAck ack;
        try
        {
            ack = driver.VqPairsSet(n);
        }
        catch (DeviceTimeoutException e)
        {
            throw Expect.Violated(Rule.NetVqDefLayout, $"VQ_PAIRS_SET({n}) on the controlq (vq {driver.Layout.ControlqIndex}) was never answered: {e.Message}");
        }
        ThisCase.Judged();
        if (model.JudgeVqPairsSetAck(n, ack) is { } v && checkedIds.Contains(v.RequirementId)) throw new ConformanceViolationException(v);
        var (next, expected) = model.VqPairsSet(n);
        // When the device answered differently than the model, what it did next is unknown: follow its answer.
        return ack == expected ? next : ack == NetAck.Ok ? model with { CurrentPairs = n, PairsSetSinceReset = true } : model;
    }

    /// <summary>Resets the device, turning a status that never reads 0 into the rule it breaks.</summary>
    public static void Reset(NetDriver driver)
    {
        try
        {
            driver.Reset();
        }
        catch (DeviceTimeoutException e)
        {
            // Over vhost-user a reset stops every ring with GET_VRING_BASE: a reply that never came is that rule's.
            throw Expect.Violated(e.RequirementId ?? Rule.CoreResetDevStatusZero, e.Message);
        }
    }

    /// <summary>Negotiates <paramref name="features"/> and sets up queues; a refused valid subset breaks the given rule.</summary>
    public static void Initialize(NetDriver driver, FeatureSet features, int pairs, string refusalRule = Rule.CoreFeatDevAcceptValidSubset)
    {
        Negotiate(driver, features, refusalRule);
        driver.SetUpQueues(pairs);
        driver.SetDriverOk();
    }

    /// <summary>Resets the device and negotiates <paramref name="features"/> (steps 1-6 of §3.1.1), for probes that set up queues of their own.</summary>
    public static void Negotiate(NetDriver driver, FeatureSet features, string refusalRule = Rule.CoreFeatDevAcceptValidSubset)
    {
        Reset(driver);
        driver.BeginNegotiation();
        if (!driver.AcceptFeatures(features))
            throw Expect.Violated(refusalRule, $"the device refused FEATURES_OK for the valid subset {features} (offered {driver.Offered})");
    }

    public static byte[] Le16(int n) => [(byte)n, (byte)(n >> 8)];
}
