using System.Globalization;
using System.Text.Json;
using Berth.Cli.Client;

namespace Berth.Cli.Commands;

// logs, stats, events: the read-only streams.
public sealed partial class EngineCommands
{
    private async Task<int> Logs(List<string> argv, CancellationToken ct)
    {
        var a = new Args("logs", argv, ["follow|f", "timestamps|t", "details"], ["tail|n", "since", "until"]);
        a.Require(1, 1, "[OPTIONS] CONTAINER");
        string tail = a.Value("tail") ?? "all";
        if (tail != "all" && !int.TryParse(tail, out _)) throw new UsageException($"invalid argument \"{tail}\" for \"-n, --tail\" flag: expected an integer or \"all\"");
        var c = await ClientAsync(ct);
        string id;
        bool tty;
        using (var info = await c.GetJsonAsync($"/containers/{Esc(a.Positional[0])}/json", ct))
        {
            id = Str(info.RootElement, "Id");
            tty = Bool(Obj(info.RootElement, "Config"), "Tty");
        }
        string q = DockerClient.Query(("stdout", "1"), ("stderr", "1"), ("tail", tail),
            ("follow", a.Flag("follow") ? "1" : null), ("timestamps", a.Flag("timestamps") ? "1" : null),
            ("since", a.Value("since") is { } s ? ValueParsers.Timestamp(s, "--since") : null),
            ("until", a.Value("until") is { } u ? ValueParsers.Timestamp(u, "--until") : null));
        using var r = await c.SendAsync(HttpMethod.Get, $"/containers/{id}/logs{q}", streaming: true, ct: ct);
        await using var body = await r.Content.ReadAsStreamAsync(ct);
        Out.Flush();
        if (tty) await body.CopyToAsync(_stdout, ct);
        else await StreamPump.DemuxAsync(async (buf, t) => await body.ReadAtLeastAsync(buf, buf.Length, throwOnEndOfStream: false, t) switch
        {
            0 => false,
            var n when n == buf.Length => true,
            _ => throw new IOException("the log stream ended inside a frame"),
        }, _stdout, _stderr, ct);
        await _stdout.FlushAsync(ct);
        return 0;
    }

    private static readonly Dictionary<string, string> StatsHeaders = new()
    {
        ["Container"] = "CONTAINER", ["ID"] = "CONTAINER ID", ["Name"] = "NAME", ["CPUPerc"] = "CPU %", ["MemUsage"] = "MEM USAGE / LIMIT",
        ["MemPerc"] = "MEM %", ["NetIO"] = "NET I/O", ["BlockIO"] = "BLOCK I/O", ["PIDs"] = "PIDS",
    };

    private async Task<int> Stats(List<string> argv, CancellationToken ct)
    {
        var a = new Args("stats", argv, ["all|a", "no-stream", "no-trunc"], ["format"]);
        var c = await ClientAsync(ct);
        string format = a.Value("format") ?? "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
        bool redraw = !a.Flag("no-stream") && !Console.IsOutputRedirected;
        while (true)
        {
            var names = a.Positional.ToList();
            if (names.Count == 0)
            {
                using var list = await c.GetJsonAsync("/containers/json" + (a.Flag("all") ? "?all=1" : ""), ct);
                names = list.RootElement.EnumerateArray().Select(e => ShortId(Str(e, "Id"))).ToList();
            }
            var tasks = names.Select(async n =>
            {
                using var doc = await c.GetJsonAsync($"/containers/{Esc(n)}/stats?stream=0", ct);
                return StatsRow(doc.RootElement, n, a.Flag("no-trunc"));
            }).ToList();
            var rows = new List<JsonElement>();
            int rc = 0;
            foreach (var t in tasks)
            {
                try { rows.Add(await t); }
                catch (DaemonException e) when (a.Positional.Count > 0)
                {
                    Err.WriteLine($"berth: Error response from daemon: {OneLine(e.Message)}");
                    rc = 1;
                }
                catch (DaemonException) { } // a container that went away between the list and its stats
            }
            if (redraw) Out.Write("\x1b[2J\x1b[H");
            Out.Write(GoTemplate.RenderLines(format, rows, StatsHeaders));
            Out.Flush();
            if (a.Flag("no-stream")) return rc;
        }
    }

    private static JsonElement StatsRow(JsonElement s, string asked, bool noTrunc)
    {
        var cpu = Obj(s, "cpu_stats");
        var pre = Obj(s, "precpu_stats");
        double cpuDelta = Num(Obj(cpu, "cpu_usage"), "total_usage") - Num(Obj(pre, "cpu_usage"), "total_usage");
        double sysDelta = Num(cpu, "system_cpu_usage") - Num(pre, "system_cpu_usage");
        long online = Num(cpu, "online_cpus");
        if (online == 0 && Obj(Obj(cpu, "cpu_usage"), "percpu_usage") is { ValueKind: JsonValueKind.Array } per) online = per.GetArrayLength();
        if (online == 0) online = 1;
        double cpuPerc = sysDelta > 0 && cpuDelta > 0 ? cpuDelta / sysDelta * online * 100 : 0;

        var mem = Obj(s, "memory_stats");
        var ms = Obj(mem, "stats");
        long usage = Num(mem, "usage");
        // docker subtracts the page cache: inactive_file on cgroup v2, total_inactive_file on v1.
        long cache = Num(ms, "total_inactive_file") is > 0 and var v1 ? v1 : Num(ms, "inactive_file");
        if (cache < usage) usage -= cache;
        long limit = Num(mem, "limit");
        double memPerc = limit > 0 ? usage * 100.0 / limit : 0;

        long rx = 0, tx = 0;
        if (Obj(s, "networks") is { ValueKind: JsonValueKind.Object } nets)
            foreach (var n in nets.EnumerateObject()) { rx += Num(n.Value, "rx_bytes"); tx += Num(n.Value, "tx_bytes"); }
        long read = 0, write = 0;
        if (Obj(Obj(s, "blkio_stats"), "io_service_bytes_recursive") is { ValueKind: JsonValueKind.Array } io)
            foreach (var e in io.EnumerateArray())
            {
                string op = Str(e, "op").ToLowerInvariant();
                if (op == "read") read += Num(e, "value");
                else if (op == "write") write += Num(e, "value");
            }
        string id = Str(s, "id");
        string name = Str(s, "name").TrimStart('/');
        bool ok = Obj(s, "read") is { ValueKind: JsonValueKind.String } rd && rd.GetString() != "0001-01-01T00:00:00Z";
        string P(double d) => d.ToString("0.00", CultureInfo.InvariantCulture) + "%";
        return Row([
            ("Container", asked), ("ID", noTrunc ? id : ShortId(id)), ("Name", name == "" ? "--" : name),
            ("CPUPerc", ok ? P(cpuPerc) : "--"), ("MemUsage", $"{BinarySize(usage)} / {BinarySize(limit)}"), ("MemPerc", P(memPerc)),
            ("NetIO", $"{Formatting.Size(rx)} / {Formatting.Size(tx)}"), ("BlockIO", $"{Formatting.Size(read)} / {Formatting.Size(write)}"),
            ("PIDs", Num(Obj(s, "pids_stats"), "current").ToString(CultureInfo.InvariantCulture)),
        ]);
    }

    /// <summary>docker's BytesSize: binary units with four significant digits (1.5MiB, 7.768GiB).</summary>
    public static string BinarySize(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double v = bytes;
        int i = 0;
        while (v >= 1024 && i < units.Length - 1) { v /= 1024; i++; }
        return v.ToString("0.###", CultureInfo.InvariantCulture) + units[i];
    }

    private async Task<int> Events(List<string> argv, CancellationToken ct)
    {
        var a = new Args("events", argv, [], ["filter|f", "since", "until", "format"]);
        a.Require(0, 0, "[OPTIONS]");
        var c = await ClientAsync(ct);
        var filters = a.Values("filter");
        string q = DockerClient.Query(("since", a.Value("since") is { } s ? ValueParsers.Timestamp(s, "--since") : null),
            ("until", a.Value("until") is { } u ? ValueParsers.Timestamp(u, "--until") : null),
            ("filters", filters.Count > 0 ? FiltersJson(filters) : null));
        using var r = await c.SendAsync(HttpMethod.Get, "/events" + q, streaming: true, ct: ct);
        await using var body = await r.Content.ReadAsStreamAsync(ct);
        string? format = a.Value("format");
        await foreach (var e in DockerClient.ReadJsonLines(body, ct))
        {
            if (format is not null) Out.WriteLine(format == "json" ? e.GetRawText() : GoTemplate.Render(format, e));
            else
            {
                long nano = Num(e, "timeNano");
                var t = nano > 0 ? DateTime.UnixEpoch.AddTicks(nano / 100) : DateTime.UnixEpoch.AddSeconds(Num(e, "time"));
                var actor = Obj(e, "Actor");
                var attrs = Obj(actor, "Attributes") is { ValueKind: JsonValueKind.Object } at
                    ? string.Join(", ", at.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => $"{p.Name}={p.Value.GetString()}")) : "";
                string frac = (nano % 1_000_000_000).ToString("D9", CultureInfo.InvariantCulture);
                Out.WriteLine($"{t:yyyy-MM-ddTHH:mm:ss}.{frac}Z {Str(e, "Type")} {Str(e, "Action")} {Str(actor, "ID")}{(attrs.Length > 0 ? $" ({attrs})" : "")}");
            }
            Out.Flush();
        }
        return 0;
    }
}
