using System.Buffers.Binary;
using VirtioMq.Adapters.Driver;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Spec;
using VirtioMq.Spec.Rss;

namespace VirtioMq.Conformance.Properties;

/// <summary>Driver steps of the RSS, hash reporting and queue reset checks, with the model's judgement attached.</summary>
public static class RssProbes
{
    /// <summary>The features the RSS checks ask for: the suite's defaults, RSS, and hash reporting when <paramref name="hashReport"/>.</summary>
    public static FeatureSet Features(NetDriver d, bool rss, bool hashReport, bool ringReset = false)
    {
        if (d.Offered.IsEmpty) d.BeginNegotiation();
        var offered = d.Offered;
        var f = NetDriver.DefaultRequest;
        if (rss) f = f.With(FeatureBit.NetRss);
        if (hashReport) f = f.With(FeatureBit.NetHashReport);
        if (ringReset) f = f.With(FeatureBit.RingReset);
        return Generators.Close(f.Intersect(offered));
    }

    /// <summary>
    /// Sends one packet and judges where it came back (<see cref="Rule.NetRssDevQueueSelection"/> while RSS steers) and,
    /// with HASH_REPORT, the hash it carries (<see cref="Rule.NetHashReportDef"/>). Returns the frame received, or null
    /// when the device dropped it and <paramref name="mayDrop"/> says it may.
    /// </summary>
    public static ReceivedFrame? Send(NetDriver d, MqDeviceModel model, RssSend send, string context, Func<int, bool>? mayDrop = null)
    {
        var frame = send.Frame();
        var expected = model.ExpectedRssPairs(frame);
        // A packet RSS sends to a queue being reset must be dropped (§5.1.9.5.7.3); where the spec allows two queues, one reset suffices.
        var dropAllowed = expected is not null && mayDrop is not null && expected.Any(mayDrop);
        var dropOwed = expected is not null && mayDrop is not null && expected.All(mayDrop);
        var got = d.SendAndReceive(send.TxPair, frame, dropAllowed ? d.Device.SettleTime : d.ResponseWait);
        var where = expected is null ? "" : $" RSS puts it on receiveq{string.Join(" or receiveq", expected.Order())}";
        if (got is null)
        {
            if (dropAllowed) return null;
            throw Expect.Violated(Rule.NetTxDefSent, $"{context}: {send}: the frame never came back on any receiveq;{where}");
        }
        if (expected is not null)
        {
            var rx = got.Pair;
            if (dropOwed || mayDrop?.Invoke(rx) == true)
                throw Expect.Violated(Rule.NetRssDevDropOnVqReset, $"{context}: {send}: delivered on receiveq{rx}, but RSS names receiveq{string.Join("/", expected)}, which is being reset: the device must drop it");
            if (!expected.Contains(rx))
            {
                // An IPv6 packet with extension headers that lands where a TCP or UDP hash puts it, though IP_EX comes first in
                // §5.1.9.4.3.4, or where an unhashed packet goes (the device could not read past the extension headers): the
                // device picked the fields by another rule (QEMU's precedence, or its parser), the hash-input rule's finding.
                var rss = model.Rss!;
                var other = PacketHeaders.Read(frame, out _) is { HasExtensionHeaders: true }
                    ? new[] { rss.HashTypes & ~NetHashTypes.IPEx, rss.HashTypes & ~(NetHashTypes.IPEx | NetHashTypes.TcpEx | NetHashTypes.UdpEx) }
                        .SelectMany(t => PacketHash.Outcomes(frame, t, rss.Key) ?? []).Where(o => o.Hashed).Append(HashOutcome.NotHashed)
                        .Where(o => rss.PairFor(o) == rx).ToList()
                    : [];
                // A frame that came back on its own transmitq's receiveq is also what a device that does not steer by RSS at
                // all does (automatic steering, or RSS dropped by a refused command), and with a few queues some other hash
                // lands there by chance. Sent again on another transmitq, the same frame tells them apart: a device that
                // hashed other fields puts it on receiveq{rx} again, one that follows the transmitq does not.
                if (other.Count > 0 && rx == send.TxPair && mayDrop is null && model.CurrentPairs > 1
                    && d.SendAndReceive(send.TxPair % model.CurrentPairs + 1, frame, d.ResponseWait)?.Pair != rx)
                    other = [];
                throw Expect.Violated(other.Count > 0 ? SelectionRule(frame) : Rule.NetRssDevQueueSelection,
                    $"{context}: {send}: came back on receiveq{rx};{where} (hash {Describe(model.ExpectedHash(frame))})" +
                    (other.Count == 0 ? ""
                        : other[0].Hashed ? $"; receiveq{rx} is where a {other[0]} hash puts it: the device hashed other fields than §5.1.9.4.3 picks"
                        : $"; receiveq{rx} is the unclassified queue: the device hashed nothing, though §5.1.9.4.3.4 reads past the extension headers"));
            }
            ThisCase.Judged();
        }
        if (model.HashReportNegotiated) JudgeHash(model, frame, got, $"{context}: {send}");
        return got;
    }

    /// <summary>The hash_value and hash_report of a received frame against every outcome the spec allows.</summary>
    public static void JudgeHash(MqDeviceModel model, byte[] frame, ReceivedFrame got, string what)
    {
        if (model.ExpectedHash(frame) is not { } outcomes || got.Header.Length < NetHeader.HashSize) return;
        var value = BinaryPrimitives.ReadUInt32LittleEndian(got.Header.AsSpan(NetHeader.HashValueOffset));
        var report = (NetHashReport)BinaryPrimitives.ReadUInt16LittleEndian(got.Header.AsSpan(NetHeader.HashReportOffset));
        var match = outcomes.Any(o => o.Report == report && (!o.Hashed || o.Value == value));
        var rule = model.HashParameters.Types == NetHashTypes.None ? Rule.NetHashDefInitiallyDisabled
            // A report of another type than the spec's: the device picked the fields to hash by another rule than §5.1.9.4.3.x's.
            : outcomes.All(o => o.Report != report) && report != NetHashReport.None ? SelectionRule(frame)
            : Rule.NetHashReportDef;
        var (types, key) = model.HashParameters;
        Expect.That(match, rule,
            $"{what}: header reports {(report == NetHashReport.None ? "NONE" : $"{report} 0x{value:x8}")} (hash_report {(ushort)report}), expected {Describe(outcomes)} " +
            $"with hash_types {types} and key {Convert.ToHexString(key)}");
    }

    private static string SelectionRule(byte[] frame) =>
        PacketHeaders.Read(frame, out _) switch
        {
            { IpVersion: 4 } => Rule.NetHashDefIpv4,
            { HasExtensionHeaders: true } => Rule.NetHashDefIpv6Ex,
            { } => Rule.NetHashDefIpv6,
            null => Rule.NetHashReportDef,
        };

    private static string Describe(IReadOnlyList<HashOutcome>? outcomes) =>
        outcomes is null ? "left open by the spec" : string.Join(" or ", outcomes);

    /// <summary>Sends RSS_CONFIG and returns the model after it; a valid one answered ERR breaks net.rss.def.offer.</summary>
    public static MqDeviceModel Configure(NetDriver d, MqDeviceModel model, RssConfig config, RssLimits limits)
    {
        var ack = d.RssConfigure(config);
        var (next, expected) = model.RssConfigure(config, limits);
        // With HASH_REPORT too, RSS_CONFIG is the command the device must support to configure the reported hash (§5.1.9.4.3).
        Expect.That(ack == expected || expected == NetAck.Err, d.Negotiated.Has(FeatureBit.NetHashReport) ? Rule.NetHashDevMustSupportCommand : Rule.NetRssDefOffer,
            $"RSS_CONFIG({config}) is valid for {limits}, yet the device answered {ack}: a device offering RSS takes configurable parameters");
        return ack == NetAck.Ok ? next : model;
    }
}
