using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Berth.Cli.Templates;

/// <summary>
/// The values a template works with: JSON as the daemon sent it (objects and arrays stay
/// <see cref="JsonElement"/>s), or what a function made: string, long, double, bool, null,
/// or a list (<c>split</c>). Printing and truth follow Go's fmt and text/template.
/// </summary>
internal static class TemplateValues
{
    /// <summary>JSON scalars as .NET values; objects and arrays unchanged.</summary>
    public static object? Normalize(object? v) => v is JsonElement e ? e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? (object)l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => e,
    } : v;

    /// <summary>Go's rule: false, 0, nil, and empty strings, lists and maps are false.</summary>
    public static bool Truth(object? v) => Normalize(v) switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        JsonElement e => e.ValueKind == JsonValueKind.Array ? e.GetArrayLength() > 0 : e.EnumerateObject().Any(),
        List<object?> list => list.Count > 0,
        _ => true,
    };

    /// <summary>How Go's fmt prints a value decoded from JSON (%v).</summary>
    public static string Print(object? v) => v switch
    {
        JsonElement e => PrintJson(e),
        null => "<no value>",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        List<object?> list => "[" + string.Join(' ', list.Select(Print)) + "]",
        _ => v.ToString() ?? "",
    };

    public static string PrintJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Null or JsonValueKind.Undefined => "<no value>",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Number => e.TryGetInt64(out var l) ? l.ToString(CultureInfo.InvariantCulture) : e.GetDouble().ToString(CultureInfo.InvariantCulture),
        JsonValueKind.Array => "[" + string.Join(' ', e.EnumerateArray().Select(PrintJson)) + "]",
        // Go prints a map's keys in sorted order.
        JsonValueKind.Object => "map[" + string.Join(' ', e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => $"{p.Name}:{PrintJson(p.Value)}")) + "]",
        _ => e.GetRawText(),
    };

    /// <summary>docker's <c>json</c> function: compact, without HTML escaping.</summary>
    public static string Json(object? v)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            Write(w, v);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Write(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case JsonElement e: e.WriteTo(w); break;
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case long l: w.WriteNumberValue(l); break;
            case double d: w.WriteNumberValue(d); break;
            case List<object?> list:
                w.WriteStartArray();
                foreach (var x in list) Write(w, x);
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(v.ToString()); break;
        }
    }

    /// <summary>The elements of a list (JSON array or a function's list); null if it is not one.</summary>
    public static List<object?>? Items(object? v) => v switch
    {
        JsonElement { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(x => (object?)x).ToList(),
        List<object?> list => list,
        _ => null,
    };

    public static string TypeName(object? v) => Normalize(v) switch
    {
        null => "nil",
        string => "string",
        bool => "bool",
        long => "int",
        double => "float64",
        JsonElement { ValueKind: JsonValueKind.Array } or List<object?> => "[]interface {}",
        JsonElement => "map[string]interface {}",
        _ => "interface {}",
    };
}
