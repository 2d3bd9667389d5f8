using System.Text;
using System.Text.Json;
using Berth.Cli.Client;

namespace Berth.Cli.Commands;

// volume create | ls | inspect | rm (prune: Cli.Prune.cs): docker's commands, output and flags.
public sealed partial class EngineCommands
{
    private static readonly Dictionary<string, string> VolumeHeaders = new() { ["Driver"] = "DRIVER", ["Name"] = "VOLUME NAME", ["Mountpoint"] = "MOUNTPOINT" };

    private async Task<int> Volume(List<string> argv, CancellationToken ct)
    {
        if (argv.Count == 0 || argv[0] is "--help" or "-h")
        {
            Out.Write("Usage:  berth volume COMMAND\n\nCommands:\n  create   Create a volume\n  inspect  Display detailed information on one or more volumes\n  ls       List volumes\n  prune    Remove unused local volumes\n  rm       Remove one or more volumes\n");
            return argv.Count == 0 ? 125 : 0;
        }
        var rest = argv.Skip(1).ToList();
        return argv[0] switch
        {
            "create" => await VolumeCreate(rest, ct),
            "ls" or "list" => await VolumeList(rest, ct),
            "inspect" => await Inspect(rest, "volume", ct),
            "rm" or "remove" => await VolumeRemove(rest, ct),
            "prune" => await VolumePrune(rest, ct),
            var sub => throw new UsageException($"'volume {sub}' is not a berth command. See 'berth volume --help'"),
        };
    }

    private async Task<int> VolumeCreate(List<string> argv, CancellationToken ct)
    {
        var a = new Args("volume create", argv, [], ["driver|d", "label", "opt|o", "name"]);
        a.Require(0, 1, "[OPTIONS] [VOLUME]");
        string? name = a.Positional.Count == 1 ? a.Positional[0] : a.Value("name");
        if (a.Positional.Count == 1 && a.Value("name") is { } flagName && flagName != name)
            throw new UsageException($"conflicting options: either specify --name or provide positional arg, not both");
        var body = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("Name", name ?? "");
            w.WriteString("Driver", a.Value("driver") ?? "local");
            WritePairs(w, "Labels", a.Values("label"), allowBare: true);
            WritePairs(w, "DriverOpts", a.Values("opt"), allowBare: false);
            w.WriteEndObject();
        });
        var c = await ClientAsync(ct);
        using var r = await c.SendAsync(HttpMethod.Post, "/volumes/create", DockerClient.JsonBody(body), ct: ct);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync(ct));
        Out.WriteLine(Str(doc.RootElement, "Name"));
        return 0;
    }

    private async Task<int> VolumeList(List<string> argv, CancellationToken ct)
    {
        var a = new Args("volume ls", argv, ["quiet|q"], ["filter|f", "format"]);
        a.Require(0, 0, "[OPTIONS]");
        var c = await ClientAsync(ct);
        var filters = a.Values("filter").ToList();
        string path = "/volumes" + (filters.Count > 0 ? "?filters=" + Esc(FiltersJson(filters)) : "");
        using var doc = await c.GetJsonAsync(path, ct);
        var volumes = Obj(doc.RootElement, "Volumes") is { ValueKind: JsonValueKind.Array } arr ? arr.EnumerateArray().ToList() : [];
        if (a.Flag("quiet")) { foreach (var v in volumes) Out.WriteLine(Str(v, "Name")); return 0; }
        Out.Write(GoTemplate.RenderLines(a.Value("format") ?? "table {{.Driver}}\t{{.Name}}", volumes, VolumeHeaders));
        return 0;
    }

    private async Task<int> VolumeRemove(List<string> argv, CancellationToken ct)
    {
        var a = new Args("volume rm", argv, ["force|f"], []);
        a.Require(1, int.MaxValue, "[OPTIONS] VOLUME [VOLUME...]");
        var c = await ClientAsync(ct);
        string q = a.Flag("force") ? "?force=1" : "";
        return await ForEach(a.Positional, async name => { using var r = await c.SendAsync(HttpMethod.Delete, $"/volumes/{Esc(name)}{q}", ct: ct); });
    }

    // --label k=v (or a bare k, as docker allows for labels) and --opt k=v as a JSON object.
    private static void WritePairs(Utf8JsonWriter w, string name, IEnumerable<string> pairs, bool allowBare)
    {
        w.WriteStartObject(name);
        foreach (var p in pairs)
        {
            int eq = p.IndexOf('=');
            if (eq < 0 && !allowBare) throw new UsageException($"invalid argument \"{p}\" for \"--opt\" flag: expected key=value");
            if (eq == 0) throw new UsageException($"invalid argument \"{p}\": a key is missing");
            w.WriteString(eq < 0 ? p : p[..eq], eq < 0 ? "" : p[(eq + 1)..]);
        }
        w.WriteEndObject();
    }

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) body(w);
        return ms.ToArray();
    }
}
