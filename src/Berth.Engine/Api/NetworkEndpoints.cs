using System.Globalization;
using System.Text.Json;
using Berth.Engine.Containers;
using Berth.Engine.Images;
using Berth.Engine.Networks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Berth.Engine.Api.DockerApi;

namespace Berth.Engine.Api;

/// <summary>/networks: the predefined bridge, host and none, and user-defined bridge networks.</summary>
internal static class NetworkEndpoints
{
    public static void Map(WebApplication app, ContainerService cs)
    {
        app.MapGet("/networks", ctx =>
        {
            var f = Filters.Parse(ctx.Request.Query["filters"]);
            foreach (var k in f.Keys)
                if (k is not ("name" or "id" or "label" or "driver" or "type" or "dangling")) throw EngineException.BadRequest($"invalid filter '{k}'");
            var shown = Predefined().Concat(cs.Networks.All.Select(n => View(n))).Where(v => Matches(cs, v, f)).ToList();
            return Raw(ctx, ImageJson.Write(w =>
            {
                w.WriteStartArray();
                foreach (var v in shown) Write(w, v, cs);
                w.WriteEndArray();
            }));
        });
        app.MapGet("/networks/{id}", ctx =>
        {
            var v = Find(cs, Id(ctx));
            return Raw(ctx, ImageJson.Write(w => Write(w, v, cs)));
        });
        app.MapPost("/networks/create", async ctx =>
        {
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            var b = doc.RootElement;
            if (b.ValueKind != JsonValueKind.Object) throw EngineException.BadRequest("invalid JSON: the network to create must be an object");
            string? subnet = null, gateway = null;
            if (b.TryGetProperty("IPAM", out var ipam) && ipam.ValueKind == JsonValueKind.Object)
            {
                if (VolumeEndpoints.Str(ipam, "Driver") is { Length: > 0 } d && d != "default")
                    throw EngineException.NotFound($"plugin \"{d}\" not found: berthd has only the default IPAM driver");
                if (ipam.TryGetProperty("Config", out var cfg) && cfg.ValueKind == JsonValueKind.Array)
                {
                    var pools = cfg.EnumerateArray().ToList();
                    if (pools.Count > 1) throw EngineException.BadRequest("berthd networks have one IPv4 subnet: give at most one --subnet");
                    if (pools.Count == 1)
                    {
                        subnet = VolumeEndpoints.Str(pools[0], "Subnet");
                        gateway = VolumeEndpoints.Str(pools[0], "Gateway");
                        if (VolumeEndpoints.Str(pools[0], "IPRange") is { Length: > 0 }) throw EngineException.BadRequest("--ip-range is not supported by berthd");
                    }
                }
            }
            var n = cs.Networks.Create(new NetworkSpec(VolumeEndpoints.Str(b, "Name") ?? "", VolumeEndpoints.Str(b, "Driver"), subnet, gateway,
                Bool(b, "Internal"), Bool(b, "Attachable"), Bool(b, "EnableIPv6"), VolumeEndpoints.Map(b, "Labels"), VolumeEndpoints.Map(b, "Options")));
            cs.Events.Publish("network", "create", n.Id, new() { ["name"] = n.Name, ["type"] = "bridge" });
            ctx.Response.StatusCode = 201;
            await Raw(ctx, ImageJson.Write(w => { w.WriteStartObject(); w.WriteString("Id", n.Id); w.WriteString("Warning", ""); w.WriteEndObject(); }));
        });
        app.MapDelete("/networks/{id}", ctx =>
        {
            var v = Find(cs, Id(ctx));
            if (v.User is not { } n) throw EngineException.Forbidden($"{v.Name} is a pre-defined network and cannot be removed");
            var users = cs.OnNetwork(n.Id).ToList();
            if (users.Count > 0)
                throw EngineException.Forbidden($"error while removing network: network {n.Name} id {n.Id} has active endpoints ({string.Join(", ", users.Select(c => c.R.Name.TrimStart('/')))})");
            cs.Networks.Remove(n);
            cs.Events.Publish("network", "destroy", n.Id, new() { ["name"] = n.Name, ["type"] = "bridge" });
            ctx.Response.StatusCode = 204;
            return Task.CompletedTask;
        });
        app.MapPost("/networks/{id}/connect", async ctx =>
        {
            var n = UserNetwork(cs, Id(ctx), "connect to");
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            var c = cs.Get(VolumeEndpoints.Str(doc.RootElement, "Container") ?? throw EngineException.BadRequest("Container is required"));
            var (aliases, ip) = doc.RootElement.TryGetProperty("EndpointConfig", out var ec) ? ContainerService.ParseEndpointConfig(ec) : (null, null);
            await cs.ConnectAsync(c, n, aliases, ip);
            cs.Events.Publish("network", "connect", n.Id, new() { ["container"] = c.Id, ["name"] = n.Name, ["type"] = "bridge" });
        });
        app.MapPost("/networks/{id}/disconnect", async ctx =>
        {
            var n = UserNetwork(cs, Id(ctx), "disconnect from");
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            var c = cs.Get(VolumeEndpoints.Str(doc.RootElement, "Container") ?? throw EngineException.BadRequest("Container is required"));
            await cs.DisconnectAsync(c, n);
            cs.Events.Publish("network", "disconnect", n.Id, new() { ["container"] = c.Id, ["name"] = n.Name, ["type"] = "bridge" });
        });
        app.MapPost("/networks/prune", ctx =>
        {
            var f = Filters.Parse(ctx.Request.Query["filters"]);
            foreach (var k in f.Keys)
                if (k is not ("until" or "label" or "label!")) throw EngineException.BadRequest($"invalid filter '{k}'");
            var until = f.Values("until").Select(ContainerService.ParseUntil).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
            var deleted = new List<string>();
            foreach (var n in cs.Networks.All)
            {
                if (cs.OnNetwork(n.Id).Any()) continue;
                if (DateTimeOffset.Parse(n.Created, CultureInfo.InvariantCulture) >= until) continue;
                if (!ContainerService.LabelsMatch(n.Labels, f.Values("label"), f.Values("label!"))) continue;
                cs.Networks.Remove(n);
                cs.Events.Publish("network", "destroy", n.Id, new() { ["name"] = n.Name, ["type"] = "bridge" });
                deleted.Add(n.Name);
            }
            return Raw(ctx, ImageJson.Write(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("NetworksDeleted");
                foreach (var d in deleted) w.WriteStringValue(d);
                w.WriteEndArray();
                w.WriteEndObject();
            }));
        });
    }

    /// <summary>A network as the API shows it: a predefined one (User null) or a user-defined one.</summary>
    private sealed record NetworkView(string Name, string Id, string Driver, NetworkRecord? User);

    private static IEnumerable<NetworkView> Predefined() =>
        NetworkStore.Predefined.Select(n => new NetworkView(n, ContainerService.NetworkId(n), n == "none" ? "null" : n, null));

    private static NetworkView View(NetworkRecord n) => new(n.Name, n.Id, n.Driver, n);

    private static NetworkView Find(ContainerService cs, string nameOrId)
    {
        var pre = Predefined().FirstOrDefault(v => v.Name == nameOrId || v.Id == nameOrId);
        if (pre is not null) return pre;
        if (cs.Networks.Find(nameOrId) is { } n) return View(n);
        pre = nameOrId.Length > 0 ? Predefined().FirstOrDefault(v => v.Id.StartsWith(nameOrId, StringComparison.Ordinal)) : null;
        return pre ?? throw EngineException.NotFound($"network {nameOrId} not found");
    }

    private static NetworkRecord UserNetwork(ContainerService cs, string nameOrId, string verb)
    {
        var v = Find(cs, nameOrId);
        return v.User ?? throw EngineException.Forbidden($"berthd cannot {verb} the predefined network {v.Name}: only user-defined networks take connections");
    }

    private static bool Matches(ContainerService cs, NetworkView v, Filters f)
    {
        if (f.Has("name") && !f.Values("name").Any(x => v.Name.Contains(x, StringComparison.Ordinal))) return false;
        if (f.Has("id") && !f.Values("id").Any(x => v.Id.StartsWith(x, StringComparison.Ordinal))) return false;
        if (f.Has("driver") && !f.Values("driver").Contains(v.Driver)) return false;
        if (f.Has("type") && !f.Values("type").Contains(v.User is null ? "builtin" : "custom")) return false;
        if (f.Has("label") && !ContainerService.LabelsMatch(v.User?.Labels ?? new(), f.Values("label"), [])) return false;
        if (f.Has("dangling"))
        {
            bool dangling = v.User is { } u && !cs.OnNetwork(u.Id).Any();
            if (!f.Values("dangling").Any(x => x is "true" or "1" ? dangling : !dangling)) return false;
        }
        return true;
    }

    private static void Write(Utf8JsonWriter w, NetworkView v, ContainerService cs)
    {
        var n = v.User;
        w.WriteStartObject();
        w.WriteString("Name", v.Name);
        w.WriteString("Id", v.Id);
        w.WriteString("Created", n?.Created ?? "0001-01-01T00:00:00Z");
        w.WriteString("Scope", "local");
        w.WriteString("Driver", v.Driver);
        w.WriteBoolean("EnableIPv6", false);
        w.WriteStartObject("IPAM");
        w.WriteString("Driver", "default");
        if (n is null) w.WriteNull("Options"); else { w.WriteStartObject("Options"); w.WriteEndObject(); }
        w.WriteStartArray("Config");
        if (n is not null) { w.WriteStartObject(); w.WriteString("Subnet", n.Subnet); w.WriteString("Gateway", n.Gateway); w.WriteEndObject(); }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteBoolean("Internal", n?.Internal ?? false);
        w.WriteBoolean("Attachable", n?.Attachable ?? false);
        w.WriteBoolean("Ingress", false);
        w.WriteStartObject("ConfigFrom"); w.WriteString("Network", ""); w.WriteEndObject();
        w.WriteBoolean("ConfigOnly", false);
        w.WriteStartObject("Containers");
        if (n is not null)
            foreach (var c in cs.OnNetwork(n.Id).OrderBy(c => c.R.Name, StringComparer.Ordinal))
            {
                var e = c.R.Endpoints![n.Id];
                w.WriteStartObject(c.Id);
                w.WriteString("Name", c.R.Name.TrimStart('/'));
                w.WriteString("EndpointID", e.EndpointId);
                w.WriteString("MacAddress", e.MacAddress);
                w.WriteString("IPv4Address", $"{e.IPAddress}/{e.IPPrefixLen}");
                w.WriteString("IPv6Address", "");
                w.WriteEndObject();
            }
        w.WriteEndObject();
        w.WriteStartObject("Options");
        if (n is not null) foreach (var (k, val) in n.Options) w.WriteString(k, val);
        w.WriteEndObject();
        w.WriteStartObject("Labels");
        if (n is not null) foreach (var (k, val) in n.Labels) w.WriteString(k, val);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static bool Bool(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}
