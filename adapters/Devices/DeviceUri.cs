using System.Web;

namespace VirtioMq.Adapters.Devices;

/// <summary>
/// A device address such as <c>reference://?pairs=8&amp;fault=cvq-at-2</c> or <c>vhost-user:///tmp/dev.sock?pairs=4</c>.
/// The scheme picks the adapter; the query carries its options.
/// </summary>
public sealed record DeviceUri(string Text, string Scheme, string Path, IReadOnlyDictionary<string, IReadOnlyList<string>> Query)
{
    public const string DefaultText = "reference://?pairs=8";

    public static DeviceUri Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new FormatException("the device URI is empty");
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri))
            throw new FormatException($"'{text}' is not a device URI (expected e.g. {DefaultText} or vhost-user:///path/to.sock?pairs=4)");
        var query = new Dictionary<string, IReadOnlyList<string>>();
        var parsed = HttpUtility.ParseQueryString(uri.Query);
        foreach (var key in parsed.AllKeys)
        {
            if (key is null) throw new FormatException($"'{text}': query parameter without a name");
            query[key] = parsed.GetValues(key)!.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        }
        return new DeviceUri(text.Trim(), uri.Scheme, Uri.UnescapeDataString(uri.AbsolutePath), query);
    }

    public string? Get(string key) => Query.TryGetValue(key, out var v) && v.Count > 0 ? v[^1] : null;

    public IReadOnlyList<string> GetAll(string key) => Query.TryGetValue(key, out var v) ? v : [];

    public int GetInt(string key, int fallback)
    {
        var s = Get(key);
        if (s is null) return fallback;
        return int.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new FormatException($"device URI '{Text}': {key}={s} is not a whole number");
    }

    /// <summary>The same URI with one query parameter replaced.</summary>
    public DeviceUri With(string key, string value)
    {
        var query = Query.Where(kv => kv.Key != key).SelectMany(kv => kv.Value.Select(v => $"{kv.Key}={Uri.EscapeDataString(v)}"))
            .Append($"{key}={Uri.EscapeDataString(value)}");
        var head = Text.Split('?', 2)[0];
        return Parse($"{head}?{string.Join("&", query)}");
    }

    public override string ToString() => Text;
}
