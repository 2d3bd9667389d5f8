using System.Text;
using System.Text.Json;
using Berth.Engine.Containers;
using Microsoft.AspNetCore.Http;

namespace Berth.Engine.Api;

/// <summary>GET /containers/{id}/stats: docker's stats JSON from `berth-runtime events --stats` (runc's shape).</summary>
public static class Stats
{
    public static async Task WriteAsync(HttpContext ctx, ContainerService cs, Container c, bool stream)
    {
        ctx.Response.StatusCode = 200;
        if (!stream) ctx.Response.ContentType = "application/json";
        await ctx.Response.StartAsync();
        string? pre = null;
        string preread = "0001-01-01T00:00:00Z";
        if (!stream && c.Running) { pre = await Sample(cs, c); preread = ContainerService.Rfc3339(DateTime.UtcNow); await Task.Delay(1000, ctx.RequestAborted); }
        while (!ctx.RequestAborted.IsCancellationRequested)
        {
            string? cur = c.Running ? await Sample(cs, c) : null;
            string read = ContainerService.Rfc3339(DateTime.UtcNow);
            string body = Compose(c, cur, pre, read, preread);
            await ctx.Response.WriteAsync(body + "\n");
            await ctx.Response.Body.FlushAsync();
            if (!stream) return;
            pre = cur; preread = read;
            try { await Task.Delay(1000, ctx.RequestAborted); } catch (OperationCanceledException) { return; }
        }
    }

    private static async Task<string?> Sample(ContainerService cs, Container c)
    {
        try { return await cs.Runtime.RunAsync(c.Id, cs.BundleOf(c), "events", "--stats", c.Id); }
        catch (Exception) { return null; }
    }

    private static JsonElement? Data(string? json)
    {
        if (json is null) return null;
        try
        {
            var root = JsonDocument.Parse(json).RootElement;
            return root.TryGetProperty("data", out var d) ? d : root;
        }
        catch (JsonException) { return null; }
    }

    private static long Get(JsonElement? e, params string[] path)
    {
        if (e is not { } x) return 0;
        foreach (var p in path)
        {
            if (x.ValueKind != JsonValueKind.Object || !x.TryGetProperty(p, out x)) return 0;
        }
        return x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var v) ? v : x.ValueKind == JsonValueKind.Number ? (long)x.GetDouble() : 0;
    }

    private static string Cpu(JsonElement? d)
    {
        long sys = SystemCpu();
        var percpu = new List<long>();
        if (d is { } x && x.TryGetProperty("cpu", out var cpu) && cpu.TryGetProperty("usage", out var u) && u.TryGetProperty("percpu", out var pc) && pc.ValueKind == JsonValueKind.Array)
            percpu.AddRange(pc.EnumerateArray().Select(v => v.GetInt64()));
        return $"{{\"cpu_usage\":{{\"total_usage\":{Get(d, "cpu", "usage", "total")},\"percpu_usage\":[{string.Join(',', percpu)}],\"usage_in_kernelmode\":{Get(d, "cpu", "usage", "kernel")},\"usage_in_usermode\":{Get(d, "cpu", "usage", "user")}}},\"system_cpu_usage\":{sys},\"online_cpus\":{Environment.ProcessorCount},\"throttling_data\":{{\"periods\":{Get(d, "cpu", "throttling", "periods")},\"throttled_periods\":{Get(d, "cpu", "throttling", "throttledPeriods")},\"throttled_time\":{Get(d, "cpu", "throttling", "throttledTime")}}}}}";
    }

    private static long SystemCpu()
    {
        var l = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(7).Sum(long.Parse);
        return l * (1_000_000_000 / 100);
    }

    private static string Compose(Container c, string? cur, string? pre, string read, string preread)
    {
        var d = Data(cur);
        var p = Data(pre);
        long limit = Get(d, "memory", "usage", "limit");
        var sb = new StringBuilder();
        sb.Append($"{{\"read\":\"{read}\",\"preread\":\"{preread}\",");
        sb.Append($"\"pids_stats\":{{\"current\":{Get(d, "pids", "current")}}},");
        sb.Append("\"blkio_stats\":{\"io_service_bytes_recursive\":null,\"io_serviced_recursive\":null,\"io_queue_recursive\":null,\"io_service_time_recursive\":null,\"io_wait_time_recursive\":null,\"io_merged_recursive\":null,\"io_time_recursive\":null,\"sectors_recursive\":null},");
        sb.Append("\"num_procs\":0,\"storage_stats\":{},");
        sb.Append($"\"cpu_stats\":{(d is null ? "{\"cpu_usage\":{\"total_usage\":0,\"usage_in_kernelmode\":0,\"usage_in_usermode\":0},\"throttling_data\":{\"periods\":0,\"throttled_periods\":0,\"throttled_time\":0}}" : Cpu(d))},");
        sb.Append($"\"precpu_stats\":{(p is null ? "{\"cpu_usage\":{\"total_usage\":0,\"usage_in_kernelmode\":0,\"usage_in_usermode\":0},\"throttling_data\":{\"periods\":0,\"throttled_periods\":0,\"throttled_time\":0}}" : Cpu(p))},");
        sb.Append(d is null ? "\"memory_stats\":{}," : $"\"memory_stats\":{{\"usage\":{Get(d, "memory", "usage", "usage")},\"max_usage\":{Get(d, "memory", "usage", "max")},\"stats\":{{\"cache\":{Get(d, "memory", "cache")}}},\"limit\":{(limit <= 0 || limit > 1L << 60 ? HostMem() : limit)}}},");
        sb.Append($"\"name\":{JsonSerializer.Serialize(c.R.Name, EngineJsonContext.Default.String)},\"id\":\"{c.Id}\"}}");
        return sb.ToString();
    }

    private static long HostMem()
    {
        foreach (var l in File.ReadLines("/proc/meminfo"))
            if (l.StartsWith("MemTotal:", StringComparison.Ordinal)) return long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }
}
