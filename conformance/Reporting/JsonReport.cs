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
}
