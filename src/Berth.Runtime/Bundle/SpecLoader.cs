using System.Text.Json;
using Berth.Oci;
using Berth.Oci.Runtime;
using Berth.Oci.Runtime.Reading;

namespace Berth.Runtime.Bundle;

/// <summary>Reads config.json from a bundle, turning every parse error into one line that names the field.</summary>
public static class SpecLoader
{
    public static (Spec Spec, byte[] Raw) Load(string bundle)
    {
        string path = Path.Combine(bundle, "config.json");
        byte[] raw;
        try { raw = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new RuntimeException($"bundle {bundle}: config.json not found"); }
        catch (DirectoryNotFoundException) { throw new RuntimeException($"bundle {bundle}: no such directory"); }
        catch (UnauthorizedAccessException) { throw new RuntimeException($"{path}: permission denied"); }
        return (Parse(raw, path), raw);
    }

    public static Spec Parse(ReadOnlySpan<byte> json, string source = "config.json")
    {
        try
        {
            // By hand, not JsonSerializer: its first call costs a fresh process 3-5 ms (see OciReader).
            return OciReader.ParseSpec(json) ?? throw new RuntimeException($"{source}: empty document");
        }
        catch (JsonException e)
        {
            throw new RuntimeException($"{source}: {Describe(e)}");
        }
    }

    /// <summary>A process.json (exec --process), read like config.json.</summary>
    public static Process ParseProcess(ReadOnlySpan<byte> json, string source) =>
        Parse(json, OciReader.ParseProcess, source);

    /// <summary>A resources document (update -r), read like config.json.</summary>
    public static LinuxResources ParseResources(ReadOnlySpan<byte> json, string source) =>
        Parse(json, OciReader.ParseLinuxResources, source);

    private delegate T? Parser<T>(ReadOnlySpan<byte> json);

    private static T Parse<T>(ReadOnlySpan<byte> json, Parser<T> parse, string source) where T : class
    {
        try
        {
            return parse(json) ?? throw new RuntimeException($"{source}: empty document");
        }
        catch (JsonException e)
        {
            throw new RuntimeException($"{source}: {Describe(e)}");
        }
    }

    public static T ParseAs<T>(ReadOnlySpan<byte> json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string source)
    {
        try
        {
            return JsonSerializer.Deserialize(json, type) ?? throw new RuntimeException($"{source}: empty document");
        }
        catch (JsonException e)
        {
            throw new RuntimeException($"{source}: {Describe(e)}");
        }
    }

    private static string Describe(JsonException e)
    {
        string where = e.Path is { Length: > 1 } p ? $" at field {p.TrimStart('$', '.')}" : "";
        string line = e.LineNumber is long l ? $" (line {l + 1})" : "";
        // STJ's own message ends with a path/line suffix we already render; keep its first sentence
        // (OciReader's messages have no such suffix).
        string msg = e.Message;
        int cut = msg.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0) msg = msg[..cut];
        return $"invalid JSON{where}{line}: {msg}";
    }
}
