using System.Text;
using System.Text.Json;
using Berth.Cli.Client;

namespace Berth.Cli.Commands;

// inspect: containers, then images, then networks and volumes, like docker; --format on the JSON.
public sealed partial class EngineCommands
{
    private async Task<int> Inspect(List<string> argv, string? fixedType, CancellationToken ct)
    {
        var a = new Args(fixedType is null ? "inspect" : fixedType + " inspect", argv, ["size|s"], ["format|f", "type"]);
        a.Require(1, int.MaxValue, "[OPTIONS] NAME|ID [NAME|ID...]");
        string? type = fixedType ?? a.Value("type");
        if (type is not (null or "container" or "image" or "network" or "volume"))
            throw new UsageException($"\"{type}\" is not a valid value for --type");
        var c = await ClientAsync(ct);
        var found = new List<JsonElement>();
        var errors = new List<string>();
        foreach (var name in a.Positional)
        {
            var e = await InspectOne(c, name, type, a.Flag("size"), ct);
            if (e is { } el) found.Add(el);
            else errors.Add(type switch
            {
                "container" => $"No such container: {name}",
                "image" => $"No such image: {name}",
                "network" => $"network {name} not found",
                "volume" => $"get {name}: no such volume",
                _ => $"No such object: {name}",
            });
        }
        if (a.Value("format") is { } format)
        {
            foreach (var e in found) Out.WriteLine(GoTemplate.Render(format, e));
        }
        else Out.WriteLine(Indent(found));
        Out.Flush();
        foreach (var err in errors) Err.WriteLine($"berth: Error: {err}");
        return errors.Count > 0 ? 1 : 0;
    }

    private static async Task<JsonElement?> InspectOne(DockerClient c, string name, string? type, bool size, CancellationToken ct)
    {
        string n = Esc(name);
        var paths = new List<string>();
        if (type is null or "container") paths.Add($"/containers/{n}/json{(size ? "?size=1" : "")}");
        if (type is null or "image") paths.Add($"/images/{ImagePath(name)}/json");
        if (type is null or "network") paths.Add($"/networks/{n}");
        if (type is null or "volume") paths.Add($"/volumes/{n}");
        foreach (var p in paths)
        {
            try
            {
                using var doc = await c.GetJsonAsync(p, ct);
                return doc.RootElement.Clone();
            }
            catch (DaemonException e) when (e.Status is 404 or 400) { }
        }
        return null;
    }

    /// <summary>docker's inspect output: a JSON array indented by four spaces.</summary>
    private static string Indent(IEnumerable<JsonElement> items)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, IndentSize = 4, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var e in items) e.WriteTo(w);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
