using VirtioMq.Conformance.Infrastructure;
using VirtioMq.Conformance.Reporting;

namespace VirtioMq.Tests.Conformance;

/// <summary>
/// `dotnet run --project conformance/Tool -- expected REPORT FILE` keeps an expected-results file current: what newly
/// fails is added with its rule, what now passes is removed, and nothing else is touched.
/// </summary>
[TestFixture]
public sealed class ExpectedRewriteTests
{
    private static readonly string[] File =
    [
        "# a device's findings",
        "Old_finding net.rx.dev.num-buffers-1  # leaves num_buffers 0",
        "Racy_check net.tx.def.sent intermittent  # a race",
        "* net.hash.def.ipv6-ex intermittent  # any RSS check",
        "Packed_only ring.packed.def.next-flag packed  # packed batch path",
    ];

    [Test]
    public void A_new_failure_is_added_with_its_rule_and_message()
    {
        var (lines, changes) = ExpectedRewrite.Rewrite(File,
        [
            new("New_failure", "split", "failed", "net.mq.dev.rx-limit-after-used", "a frame arrived on receiveq3 after VQ_PAIRS_SET(2)\nmore"),
            new("New_failure", "packed", "failed", "net.mq.dev.rx-limit-after-used", "the same"),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(lines.Take(File.Length), Is.EqualTo(File), "the lines that were there stay, comments included");
            Assert.That(lines[^1], Is.EqualTo("New_failure net.mq.dev.rx-limit-after-used  # a frame arrived on receiveq3 after VQ_PAIRS_SET(2)"),
                "both formats failed: one line for all");
            Assert.That(changes, Has.Count.EqualTo(1));
            Assert.That(changes[0].Added, Is.True);
        });
    }

    [Test]
    public void A_failure_in_one_format_only_is_listed_for_that_format()
    {
        var (lines, _) = ExpectedRewrite.Rewrite(File,
        [
            new("New_failure", "split", "passed", null, null),
            new("New_failure", "packed", "failed", "ring.packed.dev.used-write-flag", "no WRITE flag"),
        ]);
        Assert.That(lines[^1], Is.EqualTo("New_failure ring.packed.dev.used-write-flag packed  # no WRITE flag"));
    }

    [Test]
    public void A_listed_check_that_passes_loses_its_line_and_intermittent_ones_stay()
    {
        var (lines, changes) = ExpectedRewrite.Rewrite(File,
        [
            new("Old_finding", "split", "unexpected-pass", null, "listed but passed"),
            new("Old_finding", "packed", "unexpected-pass", null, "listed but passed"),
            new("Racy_check", "split", "passed", null, null),
            new("Packed_only", "packed", "known-finding", "ring.packed.def.next-flag", "listed"),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(lines, Is.EqualTo(File.Where(l => !l.StartsWith("Old_finding", StringComparison.Ordinal))));
            Assert.That(changes.Select(c => (c.Added, c.Line)), Is.EqualTo(new[] { (false, File[1]) }));
        });
    }

    [Test]
    public void A_line_for_every_format_narrows_to_the_format_still_failing()
    {
        var (lines, changes) = ExpectedRewrite.Rewrite(File,
        [
            new("Old_finding", "split", "known-finding", "net.rx.dev.num-buffers-1", "listed"),
            new("Old_finding", "packed", "unexpected-pass", null, "listed but passed"),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(lines[1], Is.EqualTo("Old_finding net.rx.dev.num-buffers-1 split  # leaves num_buffers 0"));
            Assert.That(changes.Select(c => c.Added), Is.EqualTo(new[] { false, true }));
        });
    }

    [Test]
    public void A_listed_check_failing_another_rule_is_relisted_under_the_new_rule()
    {
        var (lines, changes) = ExpectedRewrite.Rewrite(File,
        [
            new("Old_finding", "split", "failed", "net.tx.def.sent", "lost a frame"),
            new("Old_finding", "packed", "failed", "net.tx.def.sent", "lost a frame"),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(lines, Does.Not.Contain(File[1]));
            Assert.That(lines[^1], Is.EqualTo("Old_finding net.tx.def.sent  # lost a frame"));
            Assert.That(changes[0].Why, Does.Contain("now fails naming net.tx.def.sent"));
        });
    }

    [Test]
    public void Warnings_and_suite_errors_are_never_listed()
    {
        var (lines, changes) = ExpectedRewrite.Rewrite(File,
        [
            new("Should_check", "split", "warning", "net.mq.dev.follow-tx", "a SHOULD"),
            new("Crashed_check", "split", "error", null, "a bug of the suite"),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(lines, Is.EqualTo(File));
            Assert.That(changes, Is.Empty);
        });
    }

    [Test]
    public void The_rewritten_file_parses_as_an_expected_results_file()
    {
        var (lines, _) = ExpectedRewrite.Rewrite(File,
            [new("New_failure", "split", "failed", "net.mq.dev.rx-limit-after-used", "a frame # with a hash sign")]);
        var known = new KnownFindings("rewritten.txt", lines);
        Assert.That(known.Lists("New_failure", "net.mq.dev.rx-limit-after-used"), Is.True);
    }

    [Test]
    public void A_report_that_is_not_the_suites_is_refused() =>
        Assert.That(() => ExpectedRewrite.ChecksOf("{\"schema\": 1}"), Throws.TypeOf<InvalidDataException>().With.Message.Contains("checks"));
}
