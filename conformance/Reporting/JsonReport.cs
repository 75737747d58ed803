using System.Text.Json;
using System.Text.Json.Serialization;

namespace VirtioMq.Conformance.Reporting;

/// <summary>report.json: the machine-readable report, shaped by report.schema.json beside this file.</summary>
public static class JsonReport
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Render(CertificationReport report) => JsonSerializer.Serialize(report, Options) + "\n";

    /// <summary>Reads a report.json back (for the interop matrix); throws JsonException on anything else.</summary>
    public static CertificationReport Parse(string json) =>
        JsonSerializer.Deserialize<CertificationReport>(json, Options) ?? throw new JsonException("the file holds null, not a report");

    /// <summary>Any other object in the same spelling as report.json (camelCase, kebab-case verdicts).</summary>
    public static string RenderAny<T>(T value) => JsonSerializer.Serialize(value, Options) + "\n";
}
