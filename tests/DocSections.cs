namespace VirtioMq.Tests;

/// <summary>
/// Generated parts of a Markdown document, each between <c>&lt;!-- NAME:begin --&gt;</c> and <c>&lt;!-- NAME:end --&gt;</c>:
/// the tables docs/bug-zoo.md shows are written by tests/bench/ZooBench, never pasted by hand, and the tests read
/// them back to see they are current.
/// </summary>
public static class DocSections
{
    /// <summary>The text of section <paramref name="name"/> of <paramref name="path"/>, trimmed.</summary>
    /// <exception cref="InvalidDataException">The document has no such section.</exception>
    public static string Read(string path, string name)
    {
        var (text, from, to) = Locate(path, name);
        return text[from..to].Trim();
    }

    /// <summary>Replaces the section <paramref name="name"/> of <paramref name="path"/> with <paramref name="content"/>.</summary>
    /// <exception cref="InvalidDataException">The document has no such section.</exception>
    public static void Replace(string path, string name, string content)
    {
        var (text, from, to) = Locate(path, name);
        var updated = text[..from] + "\n" + content.TrimEnd() + "\n" + text[to..];
        var temp = path + ".tmp";
        File.WriteAllText(temp, updated);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The document's text and where the section's content starts (after its begin marker) and ends (at its end marker).</summary>
    private static (string Text, int From, int To) Locate(string path, string name)
    {
        var text = File.ReadAllText(path);
        var (begin, end) = ($"<!-- {name}:begin -->", $"<!-- {name}:end -->");
        var from = text.IndexOf(begin, StringComparison.Ordinal);
        var to = text.IndexOf(end, StringComparison.Ordinal);
        if (from < 0 || to < from)
            throw new InvalidDataException($"{path} has no section {begin} ... {end}");
        return (text, from + begin.Length, to);
    }
}
