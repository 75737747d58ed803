using FsCheck;
using FsCheck.Fluent;
using VirtioMq.Adapters.Devices.Capabilities;
using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Properties;
using VirtioMq.Spec;

namespace VirtioMq.Conformance.Rules;

/// <summary>
/// The virtio-pci transport's own device rules (§4.1.4.3): num_queues, queue_size, queue_enable and reset through the
/// device_status register, judged on the common configuration registers as a driver reads them.
/// </summary>
[TestFixture, Category("virtio-pci")]
public sealed class PciTransportTests
{
    public sealed record ResetCase(FeatureSet Features, int Pairs, bool PairsSet)
    {
        public override string ToString() => $"{Features}, {Pairs} pair(s) set up{(PairsSet ? $", VQ_PAIRS_SET({Pairs})" : "")}, then 0 written to device_status";
    }

    /// <summary>After a live device is reset by writing 0, status reads 0 and every queue it had enabled reads queue_enable 0.</summary>
    public static Property ResetOnZero(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(
            from features in Generators.ValidSubset(DeviceFacts.Of(ctx).Offered)
            from pairs in Gen.Choose(1, Math.Min(DeviceFacts.Of(ctx).MaxPairs, 8))
            from pairsSet in Gen.Elements(false, true)
            select new ResetCase(features, pairs, pairsSet)), c =>
        {
            using var s = ctx.Open();
            if (Needs.Capability<IPciTransport>(s, Needs.PciTransport) is not { } pci) return;
            var d = s.Driver;
            Probes.Initialize(d, c.Features, c.Pairs);
            if (c.PairsSet && d.Layout.ControlqIndex is not null && d.Negotiated.Has(FeatureBit.NetMq)) d.VqPairsSet(Math.Min(c.Pairs, d.ConfiguredPairs));
            var enabled = Enumerable.Range(0, d.Layout.QueueCount).Where(d.HasQueue).ToList();
            pci.Transport.WriteStatus(DeviceStatus.None);
            var zero = d.TryWaitUntil(() => pci.Transport.ReadStatus() == DeviceStatus.None, d.Options.Timeout);
            Expect.That(zero, Rule.XportPciDevResetOnZero, $"{c}: device_status still reads {pci.Transport.ReadStatus()} after {d.Options.Timeout.TotalSeconds:0} s");
            var still = enabled.Where(pci.Transport.QueueEnabled).ToList();
            Expect.That(still.Count == 0, Rule.XportPciDevQueueEnableZeroOnReset,
                $"{c}: after the reset queue_enable still reads 1 for vq {string.Join(", ", still.Select(vq => $"{vq} ({d.Layout.Identify(vq)})"))}");
        });

    public sealed record SizeCase(FeatureSet Features, int Beyond)
    {
        public override string ToString() => $"{Features} negotiated, queue_size read up to {Beyond} past num_queues";
    }

    /// <summary>queue_size is 0 for every queue index the device does not have, and 0 or a power of two for the rest (split rings).</summary>
    public static Property QueueSize(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(
            from features in Generators.ValidSubset(DeviceFacts.Of(ctx).Offered)
            from beyond in Gen.Choose(1, 8)
            select new SizeCase(features, beyond)), c =>
        {
            using var s = ctx.Open();
            if (Needs.Capability<IPciTransport>(s, Needs.PciTransport) is not { } pci) return;
            var d = s.Driver;
            d.BeginNegotiation();
            Expect.That(d.AcceptFeatures(c.Features), Rule.CoreFeatDevAcceptValidSubset, $"{c}: FEATURES_OK did not stick");
            var t = pci.Transport;
            var count = t.NumQueues;
            for (var vq = 0; vq < count + c.Beyond; vq++)
            {
                var size = t.QueueSize(vq);
                if (vq >= count)
                    Expect.That(size == 0, Rule.XportPciDevQueueSize, $"{c}: num_queues reads {count}, yet queue_size of vq {vq} reads {size}, not 0");
                else
                    Expect.That(size == 0 || (size & (size - 1)) == 0, Rule.XportPciDevQueueSize, $"{c}: queue_size of vq {vq} reads {size}, not 0 or a power of two (split rings)");
            }
            ThisCase.Judged();
        });

    /// <summary>
    /// num_queues is the most virtqueues the device supports (§4.1.4.3): read right after a reset, before any feature is
    /// negotiated, it covers every queue of the largest layout the device offers (2 × max_virtqueue_pairs + the controlq).
    /// </summary>
    public static Property NumQueuesIsTheMaximum(SuiteContext ctx) =>
        Prop.ForAll(Arb.From(Gen.Elements(false, true)), readAgain =>
        {
            using var s = ctx.Open();
            if (Needs.Capability<IPciTransport>(s, Needs.PciTransport) is not { } pci) return;
            var d = s.Driver;
            d.BeginNegotiation();
            var atReset = pci.Transport.NumQueues;
            var most = NetQueueLayout.For(d.Offered, d.MaxPairs, ctx.Version).QueueCount;
            Expect.That(atReset >= most, Rule.XportPciDefNumQueues,
                $"num_queues reads {atReset} after a reset, but the device offers {d.Offered} with max_virtqueue_pairs {d.MaxPairs}: {most} virtqueues");
            if (!readAgain) return;
            Probes.Initialize(d, PairsRangeTests.NetDriverDefaults(d.Offered), 1);
            var live = pci.Transport.NumQueues;
            Expect.That(live == atReset, Rule.XportPciDefNumQueues, $"num_queues read {atReset} after a reset and {live} once the device was live: the maximum does not change");
        });

    public static readonly SuiteCheck Reset = new(nameof(Writing_0_to_device_status_resets_the_device_and_its_queues), ResetOnZero,
        [Rule.XportPciDevResetOnZero, Rule.XportPciDevQueueEnableZeroOnReset], [Plane.Control], 20, pciOnly: true);

    public static readonly SuiteCheck Size = new(nameof(Queue_size_is_0_for_absent_queues_and_a_power_of_two_otherwise), QueueSize,
        [Rule.XportPciDevQueueSize], [Plane.Control], 10, pciOnly: true);

    public static readonly SuiteCheck NumQueues = new(nameof(Num_queues_covers_every_queue_the_device_can_have), NumQueuesIsTheMaximum,
        [Rule.XportPciDefNumQueues], [Plane.Control], 4, pciOnly: true);

    [Test, Check]
    public void Writing_0_to_device_status_resets_the_device_and_its_queues() => Suite.Verify(Reset);

    [Test, Check]
    public void Queue_size_is_0_for_absent_queues_and_a_power_of_two_otherwise() => Suite.Verify(Size);

    [Test, Check]
    public void Num_queues_covers_every_queue_the_device_can_have() => Suite.Verify(NumQueues);
}
