using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Spec;

namespace VirtioMq.Tests.Conformance;

/// <summary>The expected-results files: what they accept, and that a slip in one is an error, not silence.</summary>
[TestFixture]
public sealed class KnownFindingsTests
{
    [Test]
    public void Entries_comments_and_blank_lines()
    {
        var k = new KnownFindings("x.txt", ["# header", "", "Some_test net.vq.def.layout   # why", "Some_test vu.set-base.resume"]);
        Assert.Multiple(() =>
        {
            Assert.That(k.Lists("Some_test"), Is.True);
            Assert.That(k.Lists("Some_test", Rule.NetVqDefLayout), Is.True);
            Assert.That(k.Lists("Some_test", Rule.VuSetBaseResume), Is.True);
            Assert.That(k.Lists("Some_test", Rule.NetMqDevFollowTx), Is.False);
            Assert.That(k.Lists("Other_test"), Is.False);
        });
    }

    [Test]
    public void An_intermittent_finding_is_known_when_it_shows_and_no_news_when_it_does_not()
    {
        var k = new KnownFindings("x.txt", ["Racy_test net.tx.def.sent intermittent  # a race", "* net.mq.dev.follow-tx intermittent"]);
        Assert.Multiple(() =>
        {
            Assert.That(k.Lists("Racy_test", Rule.NetTxDefSent), Is.True, "its failure is a known finding");
            Assert.That(k.Lists("Racy_test"), Is.False, "its pass is not an unexpected pass");
            Assert.That(k.Lists("Any_other_test", Rule.NetMqDevFollowTx), Is.True, "* stands for any test");
            Assert.That(k.Lists("Any_other_test", Rule.NetTxDefSent), Is.False);
            Assert.That(k.Lists("*"), Is.False);
        });
    }

    [Test]
    public void A_format_word_limits_a_finding_to_that_virtqueue_format()
    {
        var k = new KnownFindings("x.txt", ["Base_test vu.packed.get-base.reply-both packed  # packed only", "Both_test net.tx.def.sent",
            "Racy_test net.tx.def.sent split intermittent"]);
        Assert.Multiple(() =>
        {
            Assert.That(k.Lists("Base_test", Rule.VuPackedGetBaseReplyBoth, RingFormat.Packed), Is.True);
            Assert.That(k.Lists("Base_test", Rule.VuPackedGetBaseReplyBoth, RingFormat.Split), Is.False);
            Assert.That(k.Lists("Base_test", RingFormat.Packed), Is.True, "a packed pass is news");
            Assert.That(k.Lists("Base_test", RingFormat.Split), Is.False, "a split pass is not: the line does not speak of split rings");
            Assert.That(k.Lists("Both_test", Rule.NetTxDefSent, RingFormat.Packed) && k.Lists("Both_test", Rule.NetTxDefSent, RingFormat.Split), Is.True);
            Assert.That(k.Lists("Racy_test", Rule.NetTxDefSent, RingFormat.Split), Is.True);
            Assert.That(k.Lists("Racy_test", Rule.NetTxDefSent, RingFormat.Packed), Is.False);
        });
    }

    [TestCase("Only_a_test_name")]
    [TestCase("Test net.vq.def.layout split packed")]
    [TestCase("Test net.vq.def.layout extra")]
    [TestCase("* net.vq.def.layout")]
    public void A_malformed_line_is_refused_with_its_place(string line)
    {
        var e = Assert.Throws<FormatException>(() => new KnownFindings("dev.txt", ["# ok", line]))!;
        Assert.That(e.Message, Does.StartWith("dev.txt:2:"));
    }

    // "no.such.rule" is not in the catalogue, on purpose: a literal.
    [Test]
    public void An_unknown_requirement_is_refused() =>
        Assert.That(() => new KnownFindings("dev.txt", ["Test no.such.rule"]), Throws.TypeOf<FormatException>().With.Message.Contains("no.such.rule"));

    [Test]
    public void The_shipped_files_parse_and_name_real_tests()
    {
        var tests = typeof(Suite).Assembly.GetTypes().SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Length > 0).Select(m => m.Name).ToHashSet();
        var folder = Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "conformance", "Expected");
        var files = Directory.GetFiles(folder, "*.txt");
        Assert.That(files, Is.Not.Empty);
        foreach (var file in files)
        {
            var k = KnownFindings.Load(file)!;
            foreach (var line in File.ReadAllLines(file).Select(l => l.Split('#')[0].Trim()).Where(l => l.Length > 0))
                Assert.That(tests.Append(KnownFindings.AnyTest), Does.Contain(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]), $"{Path.GetFileName(file)} names a test that does not exist");
            Assert.That(k.Path, Does.EndWith(Path.GetFileName(file)));
        }
    }

    [Test]
    public void A_missing_file_is_an_error() =>
        Assert.That(() => KnownFindings.Load("conformance/Expected/no-such-device.txt"), Throws.TypeOf<FileNotFoundException>());
}
