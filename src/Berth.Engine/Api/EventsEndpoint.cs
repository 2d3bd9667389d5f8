using System.Text.Json;
using Berth.Engine.Events;
using Microsoft.AspNetCore.Http;

namespace Berth.Engine.Api;

/// <summary>
/// GET /events: the kept events from `since` (all kept ones when only `until` is given), then live
/// ones, one JSON object per line; the stream ends at `until` (at once when it has passed) or
/// when the client leaves.
/// </summary>
public static class EventsEndpoint
{
    public static async Task WriteAsync(HttpContext ctx, EventBus bus)
    {
        var q = ctx.Request.Query;
        var since = DockerApi.UnixTime(q["since"]);
        var until = DockerApi.UnixTime(q["until"]);
        var filter = EventFilter.Parse(q["filters"]);
        long sinceNano = since is { } s ? Nano(s) : until is not null ? 0 : long.MaxValue;
        long untilNano = until is { } u ? Nano(u) : long.MaxValue;
        var (past, live, sub) = bus.Subscribe(sinceNano);
        using var _ = sub;
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.StartAsync();
        await ctx.Response.Body.FlushAsync();
        long lastSent = 0;
        async Task Send(EventMessage e)
        {
            if (e.TimeNano <= lastSent || !filter.Includes(e)) return; // a live copy of a replayed event
            lastSent = e.TimeNano;
            await JsonSerializer.SerializeAsync(ctx.Response.Body, e, EngineJsonContext.Default.EventMessage);
            await ctx.Response.Body.WriteAsync("\n"u8.ToArray());
            await ctx.Response.Body.FlushAsync();
        }
        foreach (var e in past) if (e.TimeNano <= untilNano) await Send(e);
        if (untilNano <= Nano(DateTime.UtcNow)) return;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        if (until is { } end) cts.CancelAfter(end - DateTime.UtcNow);
        try
        {
            await foreach (var e in live.ReadAllAsync(cts.Token))
            {
                if (e.TimeNano > untilNano) break;
                await Send(e);
            }
        }
        catch (OperationCanceledException) { }
    }

    private static long Nano(DateTime t) => (t - DateTime.UnixEpoch).Ticks * 100;
}
