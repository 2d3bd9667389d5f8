using System.Text.Json;
using Berth.Engine.Containers;
using Berth.Engine.Events;
using Microsoft.AspNetCore.Http;

namespace Berth.Engine.Api;

/// <summary>GET /events: past events (since), then live ones, one JSON object per line, until `until` or the client leaves.</summary>
public static class EventsEndpoint
{
    public static async Task WriteAsync(HttpContext ctx, EventBus bus)
    {
        var q = ctx.Request.Query;
        var since = DockerApi.UnixTime(q["since"]);
        var until = DockerApi.UnixTime(q["until"]);
        var f = Filters.Parse(q["filters"]);
        long sinceNano = since is { } s ? (s - DateTime.UnixEpoch).Ticks * 100 : long.MaxValue;
        var (past, live, sub) = bus.Subscribe(sinceNano);
        using var _ = sub;
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.StartAsync();
        await ctx.Response.Body.FlushAsync();
        long untilNano = until is { } u ? (u - DateTime.UnixEpoch).Ticks * 100 : long.MaxValue;
        async Task Send(EventMessage e)
        {
            if (!Match(e, f)) return;
            await JsonSerializer.SerializeAsync(ctx.Response.Body, e, EngineJsonContext.Default.EventMessage);
            await ctx.Response.Body.WriteAsync("\n"u8.ToArray());
            await ctx.Response.Body.FlushAsync();
        }
        foreach (var e in past) if (e.TimeNano <= untilNano) await Send(e);
        if (until is not null && untilNano <= (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100) return;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        if (until is { } uu) cts.CancelAfter(uu - DateTime.UtcNow);
        try
        {
            await foreach (var e in live.ReadAllAsync(cts.Token)) await Send(e);
        }
        catch (OperationCanceledException) { }
    }

    private static bool Match(EventMessage e, Filters f)
    {
        if (f.Has("type") && !f.Values("type").Contains(e.Type)) return false;
        if (f.Has("event") && !f.Values("event").Contains(e.Action)) return false;
        if (f.Has("container") && (e.Type != "container" || !f.Values("container").Any(v => e.Actor.ID.StartsWith(v, StringComparison.Ordinal) || e.Actor.Attributes.GetValueOrDefault("name") == v))) return false;
        if (f.Has("label"))
            foreach (var l in f.Values("label"))
            {
                var kv = l.Split('=', 2);
                if (!e.Actor.Attributes.TryGetValue(kv[0], out var v) || kv.Length == 2 && v != kv[1]) return false;
            }
        return true;
    }
}
