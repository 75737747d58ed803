namespace VirtioMq.Bench.Zoo;

/// <summary>
/// Generated parts of a Markdown document, each between <c>&lt;!-- NAME:begin --&gt;</c> and <c>&lt;!-- NAME:end --&gt;</c>:
/// the tables docs/bug-zoo.md shows are written by this bench, never pasted by hand.
/// </summary>
public static class DocSections
{
    /// <summary>Replaces the section <paramref name="name"/> of <paramref name="path"/> with <paramref name="content"/>.</summary>
    /// <exception cref="InvalidDataException">The document has no such section.</exception>
    public static void Replace(string path, string name, string content)
    {
        var text = File.ReadAllText(path);
        var (begin, end) = ($"<!-- {name}:begin -->", $"<!-- {name}:end -->");
        var from = text.IndexOf(begin, StringComparison.Ordinal);
        var to = text.IndexOf(end, StringComparison.Ordinal);
        if (from < 0 || to < from)
            throw new InvalidDataException($"{path} has no section {begin} ... {end} to write the generated table into");
        var updated = text[..(from + begin.Length)] + "\n" + content.TrimEnd() + "\n" + text[to..];
        var temp = path + ".tmp";
        File.WriteAllText(temp, updated);
        File.Move(temp, path, overwrite: true);
    }
}
