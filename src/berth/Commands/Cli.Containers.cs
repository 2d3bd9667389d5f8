using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Cli.Client;

namespace Berth.Cli.Commands;

// ps, stop, restart, kill, rm, rename, wait, top, port, update: the container lifecycle and listing.
public sealed partial class EngineCommands
{
    private static readonly Dictionary<string, string> PsHeaders = new()
    {
        ["ID"] = "CONTAINER ID", ["Image"] = "IMAGE", ["Command"] = "COMMAND", ["CreatedAt"] = "CREATED AT", ["RunningFor"] = "CREATED",
        ["Ports"] = "PORTS", ["State"] = "STATE", ["Status"] = "STATUS", ["Size"] = "SIZE", ["Names"] = "NAMES", ["Labels"] = "LABELS",
        ["Mounts"] = "MOUNTS", ["Networks"] = "NETWORKS", ["LocalVolumes"] = "LOCAL VOLUMES",
    };

    private async Task<int> Ps(List<string> argv, CancellationToken ct)
    {
        var a = new Args("ps", argv, ["all|a", "quiet|q", "no-trunc", "latest|l", "size|s"], ["filter|f", "format", "last|n"]);
        a.Require(0, 0, "[OPTIONS]");
        int limit = a.Flag("latest") ? 1 : a.Value("last") is { } n ? ValueParsers.Int(n, "-n, --last") : -1;
        var c = await ClientAsync(ct);
        var filters = a.Values("filter");
        string q = DockerClient.Query(("all", a.Flag("all") || limit > 0 ? "1" : null), ("limit", limit > 0 ? limit.ToString(CultureInfo.InvariantCulture) : null),
            ("size", a.Flag("size") ? "1" : null), ("filters", filters.Count > 0 ? FiltersJson(filters) : null));
        using var doc = await c.GetJsonAsync("/containers/json" + q, ct);
        bool trunc = !a.Flag("no-trunc");
        var list = doc.RootElement.EnumerateArray().ToList();
        string? format = a.Value("format");
        if (a.Flag("quiet") && format is null)
        {
            foreach (var e in list) Out.WriteLine(trunc ? ShortId(Str(e, "Id")) : Str(e, "Id"));
            return 0;
        }
        var rows = list.Select(e => PsRow(e, trunc)).ToList();
        format ??= a.Flag("size")
            ? "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
            : "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
        Out.Write(GoTemplate.RenderLines(format, rows, PsHeaders));
        return 0;
    }

    private static JsonElement PsRow(JsonElement e, bool trunc)
    {
        string id = Str(e, "Id");
        string image = Str(e, "Image");
        if (image.StartsWith("sha256:", StringComparison.Ordinal) && trunc) image = ShortId(image);
        string command = Str(e, "Command");
        if (trunc && command.Length > 20) command = command[..19] + "…";
        var names = Obj(e, "Names") is { ValueKind: JsonValueKind.Array } ns
            ? ns.EnumerateArray().Select(x => x.GetString() ?? "").Select(x => x.TrimStart('/')).Where(x => !x.Contains('/')).ToList() : [];
        var created = DateTimeOffset.FromUnixTimeSeconds(Num(e, "Created"));
        string labels = Obj(e, "Labels") is { ValueKind: JsonValueKind.Object } ls ? string.Join(',', ls.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}")) : "";
        string networks = Obj(Obj(e, "NetworkSettings"), "Networks") is { ValueKind: JsonValueKind.Object } nets ? string.Join(',', nets.EnumerateObject().Select(p => p.Name)) : "";
        string mounts = Obj(e, "Mounts") is { ValueKind: JsonValueKind.Array } ms ? string.Join(',', ms.EnumerateArray().Select(m => Str(m, "Name") is { Length: > 0 } nm ? nm : Str(m, "Source"))) : "";
        long sizeRw = Num(e, "SizeRw"), sizeRoot = Num(e, "SizeRootFs");
        return Row([
            ("ID", trunc ? ShortId(id) : id), ("Image", image), ("Command", Quote(command)),
            ("CreatedAt", created.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " +0000 UTC"),
            ("RunningFor", Formatting.Since(created)), ("Ports", FormatPorts(Obj(e, "Ports"))), ("State", Str(e, "State")),
            ("Status", Str(e, "Status")), ("Names", string.Join(',', names)), ("Labels", labels), ("Mounts", mounts),
            ("Networks", networks), ("LocalVolumes", "0"),
            ("Size", Formatting.Size(sizeRw) + (sizeRoot > 0 ? $" (virtual {Formatting.Size(sizeRoot)})" : "")),
        ]);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    /// <summary>docker's PORTS column: 0.0.0.0:8080->80/tcp, or 80/tcp when not published.</summary>
    private static string FormatPorts(JsonElement ports)
    {
        if (ports.ValueKind != JsonValueKind.Array) return "";
        var parts = new List<string>();
        foreach (var p in ports.EnumerateArray())
        {
            long priv = Num(p, "PrivatePort"), pub = Num(p, "PublicPort");
            string type = Str(p, "Type") is { Length: > 0 } t ? t : "tcp";
            parts.Add(pub > 0 ? $"{(Str(p, "IP") is { Length: > 0 } ip ? ip : "0.0.0.0")}:{pub}->{priv}/{type}" : $"{priv}/{type}");
        }
        return string.Join(", ", parts.Distinct());
    }

    private async Task<int> Stop(List<string> argv, CancellationToken ct)
    {
        var a = new Args("stop", argv, [], ["time|t", "timeout", "signal|s"]);
        a.Require(1, int.MaxValue, "[OPTIONS] CONTAINER [CONTAINER...]");
        string? t = a.Value("time") ?? a.Value("timeout");
        if (t is not null) ValueParsers.Int(t, "-t, --time");
        var c = await ClientAsync(ct);
        string q = DockerClient.Query(("t", t), ("signal", a.Value("signal")));
        return await ForEach(a.Positional, async id => await c.PostAsync($"/containers/{Esc(id)}/stop{q}", ct: ct));
    }

    private async Task<int> Restart(List<string> argv, CancellationToken ct)
    {
        var a = new Args("restart", argv, [], ["time|t", "timeout", "signal|s"]);
        a.Require(1, int.MaxValue, "[OPTIONS] CONTAINER [CONTAINER...]");
        string? t = a.Value("time") ?? a.Value("timeout");
        if (t is not null) ValueParsers.Int(t, "-t, --time");
        var c = await ClientAsync(ct);
        string q = DockerClient.Query(("t", t), ("signal", a.Value("signal")));
        return await ForEach(a.Positional, async id => await c.PostAsync($"/containers/{Esc(id)}/restart{q}", ct: ct));
    }

    private async Task<int> Kill(List<string> argv, CancellationToken ct)
    {
        var a = new Args("kill", argv, [], ["signal|s"]);
        a.Require(1, int.MaxValue, "[OPTIONS] CONTAINER [CONTAINER...]");
        var c = await ClientAsync(ct);
        string q = DockerClient.Query(("signal", a.Value("signal")?.ToUpperInvariant() is { } s && s.StartsWith("SIG", StringComparison.Ordinal) ? s[3..] : a.Value("signal")?.ToUpperInvariant()));
        return await ForEach(a.Positional, async id => await c.PostAsync($"/containers/{Esc(id)}/kill{q}", ct: ct));
    }

    private async Task<int> Rm(List<string> argv, CancellationToken ct)
    {
        var a = new Args("rm", argv, ["force|f", "volumes|v", "link|l"], []);
        a.Require(1, int.MaxValue, "[OPTIONS] CONTAINER [CONTAINER...]");
        var c = await ClientAsync(ct);
        string q = DockerClient.Query(("force", a.Flag("force") ? "1" : null), ("v", a.Flag("volumes") ? "1" : null), ("link", a.Flag("link") ? "1" : null));
        return await ForEach(a.Positional, async id =>
        {
            using var r = await c.SendAsync(HttpMethod.Delete, $"/containers/{Esc(id)}{q}", ct: ct);
        });
    }

    private async Task<int> Rename(List<string> argv, CancellationToken ct)
    {
        var a = new Args("rename", argv, [], []);
        a.Require(2, 2, "CONTAINER NEW_NAME");
        if (a.Positional[1].Trim().Length == 0) throw new CliException("Neither old nor new names may be empty");
        var c = await ClientAsync(ct);
        await c.PostAsync($"/containers/{Esc(a.Positional[0])}/rename?name={Esc(a.Positional[1])}", ct: ct);
        return 0;
    }

    private async Task<int> Wait(List<string> argv, CancellationToken ct)
    {
        var a = new Args("wait", argv, [], []);
        a.Require(1, int.MaxValue, "CONTAINER [CONTAINER...]");
        var c = await ClientAsync(ct);
        int rc = 0;
        foreach (var id in a.Positional)
        {
            try
            {
                using var r = await c.SendAsync(HttpMethod.Post, $"/containers/{Esc(id)}/wait", streaming: true, ct: ct);
                Out.WriteLine(await WaitStatus(r, ct));
            }
            catch (DaemonException e)
            {
                Err.WriteLine($"berth: Error response from daemon: {OneLine(e.Message)}");
                rc = 1;
            }
        }
        return rc;
    }

    private async Task<int> Top(List<string> argv, CancellationToken ct)
    {
        var a = new Args("top", argv, [], [], interspersed: false);
        a.Require(1, int.MaxValue, "CONTAINER [ps OPTIONS]");
        var c = await ClientAsync(ct);
        string q = a.Positional.Count > 1 ? "?ps_args=" + Esc(string.Join(' ', a.Positional.Skip(1))) : "";
        using var doc = await c.GetJsonAsync($"/containers/{Esc(a.Positional[0])}/top{q}", ct);
        var rows = new List<string[]> { Obj(doc.RootElement, "Titles").EnumerateArray().Select(t => t.GetString() ?? "").ToArray() };
        if (Obj(doc.RootElement, "Processes") is { ValueKind: JsonValueKind.Array } procs)
            foreach (var p in procs.EnumerateArray()) rows.Add(p.EnumerateArray().Select(x => x.GetString() ?? "").ToArray());
        Out.Write(Tabwriter.Layout(rows));
        return 0;
    }

    private async Task<int> Port(List<string> argv, CancellationToken ct)
    {
        var a = new Args("port", argv, [], []);
        a.Require(1, 2, "CONTAINER [PRIVATE_PORT[/PROTO]]");
        var c = await ClientAsync(ct);
        using var doc = await c.GetJsonAsync($"/containers/{Esc(a.Positional[0])}/json", ct);
        var ports = Obj(Obj(doc.RootElement, "NetworkSettings"), "Ports");
        string? want = a.Positional.Count > 1 ? (a.Positional[1].Contains('/') ? a.Positional[1] : a.Positional[1] + "/tcp") : null;
        bool found = false;
        if (ports.ValueKind == JsonValueKind.Object)
            foreach (var p in ports.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                if (want is not null && p.Name != want) continue;
                if (p.Value.ValueKind != JsonValueKind.Array) continue;
                foreach (var b in p.Value.EnumerateArray())
                {
                    string ip = Str(b, "HostIp") is { Length: > 0 } h ? h : "0.0.0.0";
                    Out.WriteLine(want is null ? $"{p.Name} -> {ip}:{Str(b, "HostPort")}" : $"{ip}:{Str(b, "HostPort")}");
                    found = true;
                }
            }
        if (want is not null && !found) throw new CliException($"No public port '{want}' published for {a.Positional[0]}");
        return 0;
    }

    private async Task<int> Update(List<string> argv, CancellationToken ct)
    {
        var a = new Args("update", argv, [], ["memory|m", "memory-swap", "memory-reservation", "cpus", "cpu-shares|c", "cpuset-cpus", "cpuset-mems", "cpu-period", "cpu-quota", "pids-limit", "blkio-weight", "restart"]);
        a.Require(1, int.MaxValue, "[OPTIONS] CONTAINER [CONTAINER...]");
        var sb = new StringBuilder("{");
        void Field(string name, string json) { if (sb.Length > 1) sb.Append(','); sb.Append('"').Append(name).Append("\":").Append(json); }
        if (a.Value("memory") is { } m) Field("Memory", ValueParsers.Bytes(m, "-m, --memory").ToString(CultureInfo.InvariantCulture));
        if (a.Value("memory-swap") is { } ms) Field("MemorySwap", (ms == "-1" ? -1 : ValueParsers.Bytes(ms, "--memory-swap")).ToString(CultureInfo.InvariantCulture));
        if (a.Value("memory-reservation") is { } mr) Field("MemoryReservation", ValueParsers.Bytes(mr, "--memory-reservation").ToString(CultureInfo.InvariantCulture));
        if (a.Value("cpus") is { } cpus) Field("NanoCpus", ValueParsers.NanoCpus(cpus).ToString(CultureInfo.InvariantCulture));
        if (a.Value("cpu-shares") is { } cs) Field("CpuShares", ValueParsers.Long(cs, "--cpu-shares").ToString(CultureInfo.InvariantCulture));
        if (a.Value("cpu-period") is { } cp) Field("CpuPeriod", ValueParsers.Long(cp, "--cpu-period").ToString(CultureInfo.InvariantCulture));
        if (a.Value("cpu-quota") is { } cq) Field("CpuQuota", ValueParsers.Long(cq, "--cpu-quota").ToString(CultureInfo.InvariantCulture));
        if (a.Value("cpuset-cpus") is { } cc) Field("CpusetCpus", JsonSerializer.Serialize(cc, CliJsonContext.Default.String));
        if (a.Value("cpuset-mems") is { } cm) Field("CpusetMems", JsonSerializer.Serialize(cm, CliJsonContext.Default.String));
        if (a.Value("pids-limit") is { } pl) Field("PidsLimit", ValueParsers.Long(pl, "--pids-limit").ToString(CultureInfo.InvariantCulture));
        if (a.Value("blkio-weight") is { } bw) Field("BlkioWeight", ValueParsers.Int(bw, "--blkio-weight").ToString(CultureInfo.InvariantCulture));
        if (a.Value("restart") is { } rp)
        {
            var parts = rp.Split(':');
            Field("RestartPolicy", $"{{\"Name\":{JsonSerializer.Serialize(parts[0], CliJsonContext.Default.String)},\"MaximumRetryCount\":{(parts.Length > 1 ? ValueParsers.Int(parts[1], "--restart") : 0)}}}");
        }
        sb.Append('}');
        if (sb.Length == 2) throw new UsageException("you must provide one or more flags when using this command");
        var c = await ClientAsync(ct);
        byte[] body = Encoding.UTF8.GetBytes(sb.ToString());
        return await ForEach(a.Positional, async id => await c.PostAsync($"/containers/{Esc(id)}/update", DockerClient.JsonBody(body), ct));
    }
}
