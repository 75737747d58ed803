using VirtioMq.Spec;

namespace VirtioMq.Tests.Spec;

[TestFixture]
public sealed class RequirementCatalogueTests
{
    private static RequirementCatalogue Catalogue => RequirementCatalogue.Default;

    [Test]
    public void The_embedded_catalogue_loads_with_the_whole_source_catalogue() =>
        Assert.That(Catalogue.All, Has.Count.GreaterThanOrEqualTo(190));

    [Test]
    public void Ids_are_unique_and_lookups_agree_with_All() => Assert.Multiple(() =>
    {
        Assert.That(Catalogue.All.Select(r => r.Id), Is.Unique);
        foreach (var r in Catalogue.All)
        {
            Assert.That(Catalogue.Contains(r.Id) && Catalogue.TryGet(r.Id, out var found) && ReferenceEquals(found, r), r.Id);
            Assert.That(Catalogue.Get(r.Id), Is.SameAs(r));
        }
    });

    [Test]
    public void Every_requirement_still_exists_in_1_4()
    {
        // No rule the catalogue tracks was removed from the spec, so all of them carry a 1.4 section.
        var missing = Catalogue.All.Where(r => !r.AppliesTo(SpecVersion.V1_4)).Select(r => r.Id).ToList();
        Assert.That(missing, Is.Empty);
        Assert.That(Catalogue.In(SpecVersion.V1_4).Count(), Is.EqualTo(Catalogue.All.Count));
    }

    [Test]
    public void Every_rule_exists_from_its_first_version_on() => Assert.Multiple(() =>
    {
        // The spec only ever added these rules (sometimes renumbered), so a gap would be a data-entry slip.
        var labels = Enum.GetValues<SpecVersion>().Select(v => v.Label()).ToList();
        foreach (var r in Catalogue.All.Where(r => r.Source == RequirementSource.Virtio))
        {
            var first = labels.First(r.Sections.ContainsKey);
            Assert.That(r.Sections.Keys, Is.EquivalentTo(labels.SkipWhile(l => l != first)), r.Id);
        }
        Assert.That(Catalogue.In(SpecVersion.V1_0).Select(r => r.Id), Does.Not.Contain(Rule.CoreSuspendDef).And.Not.Contain(Rule.NetRssDevQueueSelection));
    });

    [TestCase(Rule.NetMqDevRxQ1AfterReset, "1.4", "5.1.9.5.6.2")]
    [TestCase(Rule.NetMqDevRxQ1AfterReset, "1.3", "5.1.6.5.6.2")]
    [TestCase(Rule.NetMqDevRxQ1AfterReset, "1.2", "5.1.6.5.6.2")]
    [TestCase(Rule.NetMqDevRxQ1AfterReset, "1.1", "5.1.6.5.5.2")]
    [TestCase(Rule.NetMqDevRxQ1AfterReset, "1.0", "5.1.6.5.5.2")]
    [TestCase(Rule.NetMqDevRxLimitAfterUsed, "1.0", "5.1.6.5.5.2")]
    [TestCase(Rule.NetMqDrvPairsRange, "1.4", "5.1.9.5.6.1")]
    [TestCase(Rule.NetRssDevQueueSelection, "1.2", "5.1.6.5.7.3")]
    [TestCase(Rule.CoreCfgDevReadableBeforeFeaturesOk, "1.0", "2.3.2")]
    [TestCase(Rule.CoreCfgDevReadableBeforeFeaturesOk, "1.1", "2.4.2")]
    [TestCase(Rule.CoreResetDevStatusZero, "1.1", "2.1.2")]
    [TestCase(Rule.CoreResetDevStatusZero, "1.2", "2.4.1")]
    [TestCase(Rule.RingUsedDevWriteLenBytes, "1.0", "2.4.8.2")]
    [TestCase(Rule.RingUsedDevWriteLenBytes, "1.1", "2.6.8.2")]
    [TestCase(Rule.RingUsedDevWriteLenBytes, "1.4", "2.7.8.2")]
    public void Sections_are_exact(string id, string version, string section) =>
        Assert.That(Catalogue.Get(id).Sections[version], Is.EqualTo(section));

    [Test]
    public void The_queue_layout_exists_in_every_version() =>
        Assert.That(Catalogue.Get(Rule.NetVqDefLayout).Sections, Is.EquivalentTo(new Dictionary<string, string>
        {
            ["1.0"] = "5.1.2",
            ["1.1"] = "5.1.2",
            ["1.2"] = "5.1.2",
            ["1.3"] = "5.1.2",
            ["1.4"] = "5.1.2",
        }));

    [Test]
    public void Rules_added_later_are_absent_from_earlier_versions() => Assert.Multiple(() =>
    {
        var renegotiate = Catalogue.Get(Rule.CoreFeatDevRenegotiateAfterReset);
        Assert.That(renegotiate.Sections.Keys, Is.EquivalentTo(new[] { "1.1", "1.2", "1.3", "1.4" }));
        Assert.That(renegotiate.AppliesTo(SpecVersion.V1_0), Is.False);
        Assert.That(Catalogue.Get(Rule.NetMqDevReselectOnVqReset).Sections.Keys, Is.EquivalentTo(new[] { "1.3", "1.4" }));
        Assert.That(Catalogue.Get(Rule.CoreSuspendDevQuiesce).Sections.Keys, Is.EquivalentTo(new[] { "1.4" }));
    });

    [Test]
    public void Levels_and_actors_are_as_in_the_spec() => Assert.Multiple(() =>
    {
        Assert.That(Catalogue.Get(Rule.NetMqDevFollowTx).Level, Is.EqualTo(Level.Should));
        Assert.That(Catalogue.Get(Rule.NetMqDevRxQ1AfterReset).Level, Is.EqualTo(Level.Must));
        Assert.That(Catalogue.Get(Rule.NetMqDevRxLimitAfterUsed).Level, Is.EqualTo(Level.MustNot));
        Assert.That(Catalogue.Get(Rule.NetMqDevRandomForUnknown).Level, Is.EqualTo(Level.May));
        Assert.That(Catalogue.Get(Rule.CoreFeatDevRenegotiateAfterReset).Level, Is.EqualTo(Level.ShouldNot));
        Assert.That(Catalogue.Get(Rule.NetVqDefLayout).Level, Is.EqualTo(Level.Definition));
        Assert.That(Catalogue.Get(Rule.NetMqDrvPairsRange).Actor, Is.EqualTo(Actor.Driver));
        Assert.That(Catalogue.Get(Rule.ConfNetDevice).Level, Is.EqualTo(Level.Definition));
    });

    [Test]
    public void Robustness_entries_are_device_rules_that_never_deny_certification()
    {
        var robust = Catalogue.All.Where(r => r.Id.StartsWith("robust.", StringComparison.Ordinal)).ToList();
        Assert.That(robust.Select(r => r.Id), Is.EquivalentTo(new[]
        {
            Rule.RobustMqPairsSetZeroRejected, Rule.RobustMqPairsSetAboveMaxRejected, Rule.RobustMqPairsSetWithoutMqRejected,
            Rule.RobustCtrlUnknownCommandRejected, Rule.RobustCtrlMalformedSurvives, Rule.RobustRingMalformedChainRefused, Rule.RobustRingPackedQuietWhenSuppressed,
            Rule.RobustRingQueueOutsideMemoryRefused, Rule.RobustRingDisabledTxReturned,
            Rule.RobustFeatInvalidSubsetRefused, Rule.RobustRssInvalidConfigRefused, Rule.RobustRssRefusalKeepsConfig,
        }));
        Assert.Multiple(() =>
        {
            foreach (var r in robust)
            {
                Assert.That((r.Level, r.Actor, r.IsMandatory), Is.EqualTo((Level.Robustness, Actor.Device, false)), r.Id);
                Assert.That(r.Note, Is.Not.Null.And.Not.Empty, r.Id);
            }
            Assert.That(Catalogue.Get(Rule.RobustMqPairsSetZeroRejected).Sections,
                Is.EquivalentTo(Catalogue.Get(Rule.NetMqDrvPairsRange).Sections));
            Assert.That(Catalogue.All.Where(r => r.Level == Level.Robustness), Is.EquivalentTo(robust));
        });
    }

    [Test]
    public void Titles_are_short_and_summaries_are_single_sentences() => Assert.Multiple(() =>
    {
        foreach (var r in Catalogue.All)
        {
            Assert.That(r.Title, Has.Length.LessThanOrEqualTo(70), r.Id);
            Assert.That(r.Summary, Does.EndWith("."), r.Id);
        }
    });

    // "net.mq.dev.rx-q1-after-rest" is a misspelling on purpose: a literal, as no Rule constant can name it.
    [Test]
    public void Get_of_an_unknown_id_names_it() =>
        Assert.That(() => Catalogue.Get("net.mq.dev.rx-q1-after-rest"),
            Throws.TypeOf<KeyNotFoundException>().With.Message.Contains("net.mq.dev.rx-q1-after-rest")
                .And.Message.Contains(Rule.NetMqDevRxQ1AfterReset));

    // Not a catalogue rule, on purpose: a literal.
    [Test]
    public void TryGet_of_an_unknown_id_is_false() =>
        Assert.That(Catalogue.TryGet("net.nothing.here", out _), Is.False);

    // --- Parse: a minimal valid entry, then one mutation per validation rule. The IDs here (net.test.rule, net.test.other,
    // vu.x.y) belong to the small catalogues these tests make, not to the shipped one: literals, not Rule constants.

    private static string Entry(string id = "net.test.rule", string actor = "device", string level = "must",
        string title = "A title", string summary = "A summary.", string sections = """{ "1.4": "5.1.9" }""") =>
        $$"""{ "id": "{{id}}", "actor": "{{actor}}", "level": "{{level}}", "title": "{{title}}", "summary": "{{summary}}", "sections": {{sections}} }""";

    [Test]
    public void Parse_reads_a_valid_entry()
    {
        var c = RequirementCatalogue.Parse($$"""[ {{Entry()}}, {{Entry(id: "net.test.other", level: "should-not", actor: "both", sections: """{ "1.0": "5.1.6", "1.4": "5.1.9" }""")}} ]""");
        Assert.That(c.All, Has.Count.EqualTo(2));
        var r = c.Get("net.test.other");
        Assert.That((r.Level, r.Actor, r.Note, r.SectionIn(SpecVersion.V1_0)), Is.EqualTo((Level.ShouldNot, Actor.Both, (string?)null, "5.1.6")));
        Assert.That(c.In(SpecVersion.V1_0).Select(x => x.Id), Is.EqualTo(new[] { "net.test.other" }));
    }

    private static IEnumerable<TestCaseData> BadEntries()
    {
        yield return new TestCaseData($"[ {Entry()}, {Entry()} ]", "net.test.rule", "duplicate").SetName("Parse rejects a duplicate id");
        yield return new TestCaseData($"[ {Entry(id: "Net.Test")} ]", "Net.Test", "id").SetName("Parse rejects an id with capitals");
        yield return new TestCaseData($"[ {Entry(id: "nodots")} ]", "nodots", "id").SetName("Parse rejects an id without segments");
        yield return new TestCaseData($"[ {Entry(id: "net..rule")} ]", "net..rule", "id").SetName("Parse rejects an id with an empty segment");
        yield return new TestCaseData($"[ {Entry(actor: "host")} ]", "net.test.rule", "actor").SetName("Parse rejects an unknown actor");
        yield return new TestCaseData($"[ {Entry(level: "MUST")} ]", "net.test.rule", "level").SetName("Parse rejects an unknown level");
        yield return new TestCaseData($"[ {Entry(title: " ")} ]", "net.test.rule", "title").SetName("Parse rejects an empty title");
        yield return new TestCaseData($"[ {Entry(summary: "")} ]", "net.test.rule", "summary").SetName("Parse rejects an empty summary");
        yield return new TestCaseData($"[ {Entry(sections: "{}")} ]", "net.test.rule", "sections").SetName("Parse rejects an entry without sections");
        yield return new TestCaseData($"[ {Entry(sections: "null")} ]", "net.test.rule", "sections").SetName("Parse rejects null sections");
        yield return new TestCaseData($$"""[ {{Entry(sections: """{ "1.5": "5.1.9" }""")}} ]""", "net.test.rule", "1.5").SetName("Parse rejects an unknown version");
        yield return new TestCaseData($$"""[ {{Entry(sections: """{ "v1.4": "5.1.9" }""")}} ]""", "net.test.rule", "v1.4").SetName("Parse rejects a misspelt version");
        yield return new TestCaseData($$"""[ {{Entry(sections: """{ "1.4": "§5.1.9" }""")}} ]""", "net.test.rule", "§5.1.9").SetName("Parse rejects a section with a sign");
        yield return new TestCaseData($$"""[ {{Entry(sections: """{ "1.4": "5.1." }""")}} ]""", "net.test.rule", "5.1.").SetName("Parse rejects a section with a trailing dot");
        yield return new TestCaseData($$"""[ {{Entry(sections: """{ "1.4": null }""")}} ]""", "net.test.rule", "section").SetName("Parse rejects a null section");
    }

    [TestCaseSource(nameof(BadEntries))]
    public void Parse_rejects_bad_entries_naming_them(string json, string id, string problem) =>
        Assert.That(() => RequirementCatalogue.Parse(json),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains($"'{id}'").And.Message.Contains(problem));

    [TestCase("""[ { "actor": "device" } ]""", "entry #0")]
    [TestCase("""[ null ]""", "entry #0")]
    [TestCase("""{ "id": "net.test.rule" }""", "not a valid catalogue")]
    [TestCase("""[ { "id": "net.test.rule", "secions": {} } ]""", "not a valid catalogue")]
    [TestCase("""null""", "array")]
    public void Parse_rejects_malformed_files(string json, string problem) =>
        Assert.That(() => RequirementCatalogue.Parse(json), Throws.TypeOf<InvalidDataException>().With.Message.Contains(problem));

    [Test]
    public void Vhost_user_rules_are_unversioned_and_cite_their_section() => Assert.Multiple(() =>
    {
        var vu = Catalogue.All.Where(r => r.Source == RequirementSource.VhostUser).ToList();
        Assert.That(vu, Has.Count.GreaterThanOrEqualTo(15));
        Assert.That(vu.Select(r => r.Id), Is.All.StartsWith("vu."));
        Assert.That(vu.All(r => Enum.GetValues<SpecVersion>().All(r.AppliesTo)), "a vhost-user rule binds whatever virtio version is certified");
        var r = Catalogue.Get(Rule.VuRingDisabledTxDiscard);
        Assert.That(r.Cite(SpecVersion.V1_4), Is.EqualTo("vhost-user protocol, section \"Ring states\""));
        Assert.That(Catalogue.Get(Rule.NetMqDevRxQ1AfterReset).Cite(SpecVersion.V1_0), Is.EqualTo("§5.1.6.5.5.2 of virtio 1.0"));
    });

    [Test]
    public void A_vhost_user_rule_needs_exactly_one_titled_section()
    {
        const string Bad = """[{"id":"vu.x.y","actor":"device","level":"must","title":"t","summary":"s","sections":{"1.4":"2.1"}}]""";
        Assert.That(() => RequirementCatalogue.Parse("[]", Bad), Throws.TypeOf<InvalidDataException>().With.Message.Contains("vu.x.y"));
    }
}
