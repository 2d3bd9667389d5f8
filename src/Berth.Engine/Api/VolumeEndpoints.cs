using System.Text.Json;
using Berth.Engine.Containers;
using Berth.Engine.Images;
using Berth.Engine.Volumes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Berth.Engine.Api.DockerApi;

namespace Berth.Engine.Api;

/// <summary>/volumes: docker's local volume driver (list with filters, create, inspect, remove, prune).</summary>
internal static class VolumeEndpoints
{
    public static void Map(WebApplication app, ContainerService cs)
    {
        app.MapGet("/volumes", ctx => Raw(ctx, List(cs, ctx.Request.Query["filters"])));
        app.MapPost("/volumes/create", async ctx =>
        {
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            var body = doc.RootElement;
            if (body.ValueKind != JsonValueKind.Object) throw EngineException.BadRequest("invalid JSON: the volume to create must be an object");
            bool existed = Str(body, "Name") is { Length: > 0 } n && cs.Volumes.Get(n) is not null;
            var v = cs.Volumes.Create(Str(body, "Name"), Map(body, "Labels"), Str(body, "Driver"), Map(body, "DriverOpts"));
            if (!existed) cs.Events.Publish("volume", "create", v.Name, new() { ["driver"] = "local" });
            ctx.Response.StatusCode = 201;
            await Raw(ctx, ImageJson.Write(w => VolumeStore.WriteJson(w, v)));
        });
        app.MapPost("/volumes/prune", ctx =>
        {
            var (deleted, reclaimed) = cs.PruneVolumes(ctx.Request.Query["filters"]);
            return Raw(ctx, PruneReport("VolumesDeleted", deleted, reclaimed));
        });
        app.MapGet("/volumes/{name}", ctx =>
        {
            string name = Id(ctx, "name");
            var v = cs.Volumes.Get(name) ?? throw EngineException.NotFound($"get {name}: no such volume");
            return Raw(ctx, ImageJson.Write(w => VolumeStore.WriteJson(w, v)));
        });
        app.MapDelete("/volumes/{name}", ctx =>
        {
            cs.RemoveVolume(Id(ctx, "name"), Truthy(ctx.Request.Query["force"]));
            ctx.Response.StatusCode = 204;
            return Task.CompletedTask;
        });
    }

    // GET /volumes: filters dangling (no container mounts it), name (a substring), label (K or K=V), driver.
    private static string List(ContainerService cs, string? filtersJson)
    {
        var f = Filters.Parse(filtersJson);
        foreach (var k in f.Keys)
            if (k is not ("dangling" or "name" or "label" or "driver")) throw EngineException.BadRequest($"invalid filter '{k}'");
        var volumes = cs.Volumes.List().Where(v =>
        {
            if (f.Has("name") && !f.Values("name").Any(n => v.Name.Contains(n, StringComparison.Ordinal))) return false;
            if (f.Has("driver") && !f.Values("driver").Contains("local")) return false;
            if (!ContainerService.LabelsMatch(v.Labels, f.Values("label"), [])) return false;
            if (f.Has("dangling"))
            {
                bool dangling = cs.VolumeUsers(v.Name).Count == 0;
                if (!f.Values("dangling").Any(d => (d is "1" or "true") == dangling)) return false;
            }
            return true;
        }).ToList();
        return ImageJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("Volumes");
            foreach (var v in volumes) VolumeStore.WriteJson(w, v);
            w.WriteEndArray();
            w.WriteNull("Warnings");
            w.WriteEndObject();
        });
    }

    internal static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static Dictionary<string, string>? Map(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Object) return null;
        var d = new Dictionary<string, string>();
        foreach (var p in v.EnumerateObject())
            d[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw EngineException.BadRequest($"{name}.{p.Name}: a string is expected");
        return d;
    }
}
