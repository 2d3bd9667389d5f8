using System.Text.Json;
using Berth.Cli.Client;

namespace Berth.Cli.Commands;

// network create | ls | inspect | rm | connect | disconnect | prune: docker's commands, output and flags.
public sealed partial class EngineCommands
{
    private static readonly Dictionary<string, string> NetworkHeaders = new()
    {
        ["ID"] = "NETWORK ID", ["Name"] = "NAME", ["Driver"] = "DRIVER", ["Scope"] = "SCOPE",
    };

    private async Task<int> Network(List<string> argv, CancellationToken ct)
    {
        if (argv.Count == 0 || argv[0] is "--help" or "-h")
        {
            Out.Write("Usage:  berth network COMMAND\n\nCommands:\n  connect     Connect a container to a network\n  create      Create a network\n  disconnect  Disconnect a container from a network\n  inspect     Display detailed information on one or more networks\n  ls          List networks\n  prune       Remove all unused networks\n  rm          Remove one or more networks\n");
            return argv.Count == 0 ? 125 : 0;
        }
        var rest = argv.Skip(1).ToList();
        return argv[0] switch
        {
            "create" => await NetworkCreate(rest, ct),
            "ls" or "list" => await NetworkList(rest, ct),
            "inspect" => await Inspect(rest, "network", ct),
            "rm" or "remove" => await NetworkRemove(rest, ct),
            "connect" => await NetworkConnect(rest, ct),
            "disconnect" => await NetworkDisconnect(rest, ct),
            "prune" => await NetworkPrune(rest, ct),
            var sub => throw new UsageException($"'network {sub}' is not a berth command. See 'berth network --help'"),
        };
    }

    private async Task<int> NetworkCreate(List<string> argv, CancellationToken ct)
    {
        var a = new Args("network create", argv, ["internal", "attachable", "ipv6"], ["driver|d", "subnet", "gateway", "label", "opt|o"]);
        a.Require(1, 1, "[OPTIONS] NETWORK");
        var body = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("Name", a.Positional[0]);
            w.WriteString("Driver", a.Value("driver") ?? "bridge");
            w.WriteStartObject("IPAM");
            w.WriteString("Driver", "default");
            w.WriteStartArray("Config");
            if (a.Value("subnet") is { } subnet)
            {
                w.WriteStartObject();
                w.WriteString("Subnet", subnet);
                if (a.Value("gateway") is { } gw) w.WriteString("Gateway", gw);
                w.WriteEndObject();
            }
            else if (a.Value("gateway") is not null) throw new UsageException("--gateway needs --subnet");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteBoolean("Internal", a.Flag("internal"));
            w.WriteBoolean("Attachable", a.Flag("attachable"));
            w.WriteBoolean("EnableIPv6", a.Flag("ipv6"));
            WritePairs(w, "Labels", a.Values("label"), allowBare: true);
            WritePairs(w, "Options", a.Values("opt"), allowBare: false);
            w.WriteEndObject();
        });
        var c = await ClientAsync(ct);
        using var r = await c.SendAsync(HttpMethod.Post, "/networks/create", DockerClient.JsonBody(body), ct: ct);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync(ct));
        Out.WriteLine(Str(doc.RootElement, "Id"));
        return 0;
    }

    private async Task<int> NetworkList(List<string> argv, CancellationToken ct)
    {
        var a = new Args("network ls", argv, ["quiet|q", "no-trunc"], ["filter|f", "format"]);
        a.Require(0, 0, "[OPTIONS]");
        var c = await ClientAsync(ct);
        var filters = a.Values("filter").ToList();
        string path = "/networks" + (filters.Count > 0 ? "?filters=" + Esc(FiltersJson(filters)) : "");
        using var doc = await c.GetJsonAsync(path, ct);
        bool full = a.Flag("no-trunc");
        var rows = doc.RootElement.EnumerateArray().Select(n =>
        {
            string id = Str(n, "Id");
            return JsonSerializer.SerializeToElement(new Dictionary<string, string>
            {
                ["ID"] = full || id.Length < 12 ? id : id[..12], ["Name"] = Str(n, "Name"), ["Driver"] = Str(n, "Driver"), ["Scope"] = Str(n, "Scope"),
            }, CliJsonContext.Default.DictionaryStringString);
        }).ToList();
        if (a.Flag("quiet")) { foreach (var r in rows) Out.WriteLine(Str(r, "ID")); return 0; }
        Out.Write(GoTemplate.RenderLines(a.Value("format") ?? "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", rows, NetworkHeaders));
        return 0;
    }

    private async Task<int> NetworkRemove(List<string> argv, CancellationToken ct)
    {
        var a = new Args("network rm", argv, ["force|f"], []);
        a.Require(1, int.MaxValue, "[OPTIONS] NETWORK [NETWORK...]");
        var c = await ClientAsync(ct);
        return await ForEach(a.Positional, async name => { using var r = await c.SendAsync(HttpMethod.Delete, $"/networks/{Esc(name)}", ct: ct); });
    }

    private async Task<int> NetworkConnect(List<string> argv, CancellationToken ct)
    {
        var a = new Args("network connect", argv, [], ["alias", "ip"]);
        a.Require(2, 2, "[OPTIONS] NETWORK CONTAINER");
        var body = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("Container", a.Positional[1]);
            w.WriteStartObject("EndpointConfig");
            w.WriteStartArray("Aliases");
            foreach (var al in a.Values("alias")) w.WriteStringValue(al);
            w.WriteEndArray();
            w.WriteStartObject("IPAMConfig");
            if (a.Value("ip") is { } ip) w.WriteString("IPv4Address", ip);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });
        var c = await ClientAsync(ct);
        using var r = await c.SendAsync(HttpMethod.Post, $"/networks/{Esc(a.Positional[0])}/connect", DockerClient.JsonBody(body), ct: ct);
        return 0;
    }

    private async Task<int> NetworkDisconnect(List<string> argv, CancellationToken ct)
    {
        var a = new Args("network disconnect", argv, ["force|f"], []);
        a.Require(2, 2, "[OPTIONS] NETWORK CONTAINER");
        var body = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("Container", a.Positional[1]);
            w.WriteBoolean("Force", a.Flag("force"));
            w.WriteEndObject();
        });
        var c = await ClientAsync(ct);
        using var r = await c.SendAsync(HttpMethod.Post, $"/networks/{Esc(a.Positional[0])}/disconnect", DockerClient.JsonBody(body), ct: ct);
        return 0;
    }

    private Task<int> NetworkPrune(List<string> argv, CancellationToken ct) =>
        SinglePrune("network prune", argv, hasAll: false, _ => "WARNING! This will remove all custom networks not used by at least one container.",
            async (filters, _) =>
            {
                using var doc = await PostPrune("/networks/prune", filters, ct);
                PrintDeleted(doc.RootElement, "NetworksDeleted", "Deleted Networks:", e => [e.GetString() ?? ""]);
                return -1; // docker prints no reclaimed space for networks
            });
}
