using VirtioMq.Adapters.Devices;
using VirtioMq.Adapters.InProcess;
using VirtioMq.Conformance.Infrastructure;

namespace VirtioMq.Tests.Adapters;

[TestFixture]
public sealed class DeviceUriTests
{
    [Test]
    public void Reference_uris_carry_pairs_and_faults()
    {
        var uri = DeviceUri.Parse("reference://?pairs=4&fault=cvq-at-2&fault=swap-rx-tx,rx-on-disabled");
        Assert.That(uri.Scheme, Is.EqualTo("reference"));
        Assert.That(uri.GetInt("pairs", 1), Is.EqualTo(4));
        Assert.That(uri.GetAll("fault"), Is.EqualTo(new[] { "cvq-at-2", "swap-rx-tx", "rx-on-disabled" }));
    }

    [Test]
    public void Vhost_user_uris_keep_their_socket_path()
    {
        var uri = DeviceUri.Parse("vhost-user:///tmp/dev%20x.sock?pairs=2&connect-timeout=500");
        Assert.That((uri.Scheme, uri.Path, uri.Get("connect-timeout")), Is.EqualTo(("vhost-user", "/tmp/dev x.sock", "500")));
    }

    [Test]
    public void With_replaces_one_parameter_and_keeps_the_rest()
    {
        var uri = DeviceUri.Parse("reference://?pairs=4&fault=cvq-at-2").With("pairs", "9");
        Assert.That((uri.GetInt("pairs", 0), uri.Get("fault")), Is.EqualTo((9, "cvq-at-2")));
    }

    [TestCase("")]
    [TestCase("not a uri")]
    public void Garbage_is_a_clear_format_error(string text) =>
        Assert.That(() => DeviceUri.Parse(text), Throws.TypeOf<FormatException>().With.Message.Contains("URI"));

    [Test]
    public void A_non_numeric_pairs_value_names_the_parameter() =>
        Assert.That(() => DeviceUri.Parse("reference://?pairs=many").GetInt("pairs", 1), Throws.TypeOf<FormatException>().With.Message.Contains("pairs=many"));

    [Test]
    public void The_resolver_opens_the_reference_and_names_known_schemes_for_unknown_ones()
    {
        var resolver = SuiteDevices.Resolver();
        using (var device = resolver.Open("reference://?pairs=3"))
        {
            Assert.That(device, Is.TypeOf<InProcessReferenceDevice>());
            Assert.That(device.NumQueues, Is.EqualTo(7));
        }
        Assert.That(() => resolver.Open("pcie://slot-4/"), Throws.TypeOf<NotSupportedException>().With.Message.Contains("reference://"));
    }

    [Test]
    public void An_unknown_fault_lists_the_known_ones() =>
        Assert.That(() => SuiteDevices.Resolver().Open("reference://?fault=flaky"),
            Throws.TypeOf<FormatException>().With.Message.Contains("cvq-at-2"));
}
