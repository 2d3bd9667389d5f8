using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Berth.Engine.Containers;
using Berth.Engine.Logs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Engine.Api;

/// <summary>The Docker Engine API routes (version prefix /v1.xx optional, docker's status codes and messages).</summary>
public static class DockerApi
{
    public const string MaxVersion = "1.51", MinVersion = "1.24";
    public const string EngineVersion = "28.2.0-berth";

    public static string CommonHeadersRaw() =>
        $"Api-Version: {MaxVersion}\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Berth/{EngineVersion} (linux)\r\n";

    public static string? VersionError(string v)
    {
        if (!Version.TryParse(v, out var ver)) return $"invalid API version: {v}";
        if (ver > Version.Parse(MaxVersion)) return $"client version {v} is too new. Maximum supported API version is {MaxVersion}";
        if (ver < Version.Parse(MinVersion)) return $"client version {v} is too old. Minimum supported API version is {MinVersion}, please upgrade your client to a newer version";
        return null;
    }

    public static bool Truthy(string? v) => v is not null && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase));

    public static void Map(WebApplication app, ContainerService cs)
    {
        // version prefix, common headers, errors
        app.Use(async (ctx, next) =>
        {
            var (path, version) = HijackMiddleware.VersionedPath(ctx.Request.Path.Value ?? "/");
            var h = ctx.Response.Headers;
            h["Api-Version"] = MaxVersion;
            h["Docker-Experimental"] = "false";
            h["Ostype"] = "linux";
            h["Server"] = $"Berth/{EngineVersion} (linux)";
            long t0 = EngineTiming.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            try
            {
                if (version is not null)
                {
                    if (VersionError(version) is { } err) throw EngineException.BadRequest(err);
                    ctx.Request.Path = path;
                }
                await next(ctx);
                if (EngineTiming.Enabled)
                    EngineTiming.Mark("api", $"{ctx.Request.Method} {path} -> {ctx.Response.StatusCode} in {System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds:F2} ms");
            }
            catch (EngineException e) when (!ctx.Response.HasStarted)
            {
                ctx.Response.StatusCode = e.Status;
                if (e.Status != 304) await Json(ctx, new ErrorResponse { Message = e.Message }, EngineJsonContext.Default.ErrorResponse);
            }
            catch (JsonException e) when (!ctx.Response.HasStarted)
            {
                ctx.Response.StatusCode = 400;
                await Json(ctx, new ErrorResponse { Message = $"invalid JSON: {e.Message}" }, EngineJsonContext.Default.ErrorResponse);
            }
            catch (OperationCanceledException) { }
            catch (Exception e) when (!ctx.Response.HasStarted)
            {
                ctx.Response.StatusCode = 500;
                await Json(ctx, new ErrorResponse { Message = e.Message }, EngineJsonContext.Default.ErrorResponse);
            }
        });

        app.UseRouting(); // after the version prefix is stripped

        RequestDelegate ping = async ctx =>
        {
            ctx.Response.Headers.CacheControl = "no-cache, no-store, must-revalidate";
            ctx.Response.Headers.Pragma = "no-cache";
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            if (ctx.Request.Method == "GET") await ctx.Response.WriteAsync("OK");
        };
        app.MapMethods("/_ping", ["GET", "HEAD"], ping);

        app.MapGet("/version", ctx => Json(ctx, VersionBody(), EngineJsonContext.Default.VersionResponse));
        app.MapGet("/info", ctx => Raw(ctx, InfoJson(cs)));

        // ---- containers ----
        app.MapPost("/containers/create", async ctx =>
        {
            var req = await JsonSerializer.DeserializeAsync(ctx.Request.Body, EngineJsonContext.Default.CreateRequest)
                ?? throw EngineException.BadRequest("config cannot be empty in order to create a container");
            var c = cs.Create(req, ctx.Request.Query["name"]);
            ctx.Response.StatusCode = 201;
            await Json(ctx, new CreateResponse { Id = c.Id, Warnings = c.CreateWarnings }, EngineJsonContext.Default.CreateResponse);
        });
        app.MapGet("/containers/json", ctx =>
        {
            var q = ctx.Request.Query;
            int limit = int.TryParse(q["limit"], out var l) ? l : -1;
            return Json(ctx, cs.List(Truthy(q["all"]), q["filters"], limit), EngineJsonContext.Default.ListContainerSummary);
        });
        app.MapPost("/containers/prune", async ctx =>
        {
            var (deleted, reclaimed) = await cs.PruneContainersAsync(ctx.Request.Query["filters"], id => SystemEndpoints.WritableSize(cs, id));
            await Raw(ctx, PruneReport("ContainersDeleted", deleted, reclaimed));
        });
        app.MapGet("/containers/{id}/json", ctx => Json(ctx, cs.Inspect(cs.Get(Id(ctx))), EngineJsonContext.Default.ContainerInspect));
        app.MapPost("/containers/{id}/start", async ctx => { await cs.StartAsync(cs.Get(Id(ctx))); ctx.Response.StatusCode = 204; });
        app.MapPost("/containers/{id}/stop", async ctx =>
        {
            var c = cs.Get(Id(ctx));
            bool stopped = await cs.StopAsync(c, Timeout(ctx), ctx.Request.Query["signal"]);
            ctx.Response.StatusCode = stopped ? 204 : 304;
        });
        app.MapPost("/containers/{id}/update", async ctx =>
        {
            var req = await JsonSerializer.DeserializeAsync(ctx.Request.Body, EngineJsonContext.Default.UpdateRequest) ?? new();
            var warnings = await cs.UpdateAsync(cs.Get(Id(ctx)), req);
            await Json(ctx, new UpdateResponse { Warnings = warnings }, EngineJsonContext.Default.UpdateResponse);
        });
        app.MapPost("/containers/{id}/restart", async ctx => { await cs.RestartAsync(cs.Get(Id(ctx)), Timeout(ctx)); ctx.Response.StatusCode = 204; });
        app.MapPost("/containers/{id}/kill", async ctx => { await cs.KillAsync(cs.Get(Id(ctx)), ctx.Request.Query["signal"]); ctx.Response.StatusCode = 204; });
        app.MapPost("/containers/{id}/pause", async ctx => { await cs.PauseAsync(cs.Get(Id(ctx)), true); ctx.Response.StatusCode = 204; });
        app.MapPost("/containers/{id}/unpause", async ctx => { await cs.PauseAsync(cs.Get(Id(ctx)), false); ctx.Response.StatusCode = 204; });
        app.MapPost("/containers/{id}/rename", ctx =>
        {
            string name = ctx.Request.Query["name"].ToString();
            if (name == "") throw EngineException.BadRequest("Neither old nor new names may be empty");
            cs.Rename(cs.Get(Id(ctx)), name);
            ctx.Response.StatusCode = 204;
            return Task.CompletedTask;
        });
        app.MapPost("/containers/{id}/resize", async ctx =>
        {
            var (h, w) = Size(ctx);
            await cs.ResizeAsync(cs.Get(Id(ctx)), h, w);
        });
        app.MapDelete("/containers/{id}", async ctx =>
        {
            await cs.RemoveAsync(cs.Get(Id(ctx)), Truthy(ctx.Request.Query["force"]), Truthy(ctx.Request.Query["v"]));
            ctx.Response.StatusCode = 204;
        });
        app.MapPost("/containers/{id}/wait", async ctx =>
        {
            var c = cs.Get(Id(ctx));
            string? cond = ctx.Request.Query["condition"];
            if (cond is not (null or "" or "not-running" or "next-exit" or "removed")) throw EngineException.BadRequest($"invalid condition: \"{cond}\"");
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.StartAsync();
            await ctx.Response.Body.FlushAsync();
            int code;
            try { code = await cs.WaitAsync(c, cond, ctx.RequestAborted); }
            catch (OperationCanceledException) { return; }
            await Json(ctx, new WaitResponse { StatusCode = code }, EngineJsonContext.Default.WaitResponse);
        });
        app.MapGet("/containers/{id}/logs", async ctx =>
        {
            var c = cs.Get(Id(ctx));
            var q = ctx.Request.Query;
            if (c.R.HostConfig.LogConfig?.Type == "none" || c.R.LogPath == "")
                throw EngineException.BadRequest("configured logging driver does not support reading");
            bool so = Truthy(q["stdout"]), se = Truthy(q["stderr"]);
            if (!so && !se) throw EngineException.BadRequest("Bad parameters: you must choose at least one stream");
            string tailText = q["tail"].ToString();
            int tail = tailText is "" or "all" ? -1 : int.TryParse(tailText, out var t) ? t : throw EngineException.BadRequest($"invalid tail value: {tailText}");
            var o = new LogOptions(so, se, Truthy(q["timestamps"]), Truthy(q["follow"]), UnixTime(q["since"]), UnixTime(q["until"]), tail);
            ctx.Response.StatusCode = 200;
            await ctx.Response.StartAsync();
            try { await JsonFileLogReader.CopyAsync(c.R.LogPath, o, c.R.Config.Tty, () => c.Running, ctx.Response.Body, ctx.RequestAborted); }
            catch (OperationCanceledException) { }
            catch (IOException) { }
        });
        app.MapGet("/containers/{id}/top", async ctx =>
            await Json(ctx, await cs.TopAsync(cs.Get(Id(ctx)), ctx.Request.Query["ps_args"]), EngineJsonContext.Default.TopResponse));
        app.MapGet("/containers/{id}/stats", async ctx =>
        {
            var c = cs.Get(Id(ctx));
            bool stream = !ctx.Request.Query.ContainsKey("stream") || Truthy(ctx.Request.Query["stream"]);
            await Stats.WriteAsync(ctx, cs, c, stream);
        });

        // Hijacks normally never get here (HijackMiddleware takes them as the first request of a
        // connection); this is for a client that reuses a keep-alive connection (docker-py).
        app.MapPost("/containers/{id}/attach", async ctx =>
        {
            var c = cs.Get(Id(ctx));
            var up = ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpUpgradeFeature>();
            if (up is not { IsUpgradableRequest: true }) throw EngineException.BadRequest("attach needs a hijacked connection (Connection: Upgrade, Upgrade: tcp)");
            var q = ctx.Request.Query;
            var so = new ContainerService.StreamOptions(c.R.Config.Tty, Truthy(q["stdin"]) && c.R.Config.OpenStdin, Truthy(q["stdout"]), Truthy(q["stderr"]), c.R.Config.StdinOnce);
            ctx.Response.Headers.ContentType = "application/vnd.docker.raw-stream";
            ctx.Response.Headers.Connection = "Upgrade";
            ctx.Response.Headers.Upgrade = "tcp";
            Stream? stream = null;
            await cs.AttachAsync(c, new LazyStream(() => stream!), so, async () => stream = await up.UpgradeAsync(), CancellationToken.None);
        });
        app.MapPost("/exec/{id}/start", ctx =>
            throw EngineException.BadRequest("exec start needs a hijacked connection as the first request on it"));

        // ---- exec ----
        app.MapPost("/containers/{id}/exec", async ctx =>
        {
            var req = await JsonSerializer.DeserializeAsync(ctx.Request.Body, EngineJsonContext.Default.ExecCreateRequest) ?? new();
            var e = cs.CreateExec(cs.Get(Id(ctx)), req);
            ctx.Response.StatusCode = 201;
            await Json(ctx, new IdResponse { Id = e.Id }, EngineJsonContext.Default.IdResponse);
        });
        app.MapPost("/exec/{id}/resize", async ctx =>
        {
            var e = cs.GetExec(Id(ctx));
            var (h, w) = Size(ctx);
            if (!e.Running) throw EngineException.Conflict($"Exec {e.Id} is not running");
            await cs.ResizeAsync(cs.Get(e.ContainerId), h, w, e.Id);
        });
        app.MapGet("/exec/{id}/json", ctx =>
        {
            var e = cs.GetExec(Id(ctx));
            var cmd = e.Config.Cmd ?? [];
            return Json(ctx, new ExecInspect
            {
                ID = e.Id, Running = e.Running, ExitCode = e.ExitCode, ContainerID = e.ContainerId, Pid = e.Pid,
                OpenStdin = e.Config.AttachStdin, OpenStdout = e.Config.AttachStdout, OpenStderr = e.Config.AttachStderr,
                DetachKeys = e.Config.DetachKeys, CanRemove = false,
                ProcessConfig = new ProcessConfigDto { Tty = e.Config.Tty, Entrypoint = cmd.FirstOrDefault() ?? "", Arguments = cmd.Skip(1).ToList(), Privileged = e.Config.Privileged, User = e.Config.User },
            }, EngineJsonContext.Default.ExecInspect);
        });

        // ---- images, archive/export/commit, system: each in its own file ----
        ImageEndpoints.Map(app, cs);
        ContainerArchiveEndpoints.Map(app, cs);
        SystemEndpoints.Map(app, cs);
        VolumeEndpoints.Map(app, cs);
        BuildEndpoint.Map(app, cs, cs.Options);

        // ---- events ----
        app.MapGet("/events", async ctx => await EventsEndpoint.WriteAsync(ctx, cs.Events));

        NetworkEndpoints.Map(app, cs);
        // There is no build cache yet.
        app.MapPost("/build/prune", ctx => { Filters.Parse(ctx.Request.Query["filters"]); return Raw(ctx, "{\"CachesDeleted\":[],\"SpaceReclaimed\":0}"); });
        app.MapGet("/plugins/{name}/json", ctx => throw EngineException.NotFound($"plugin \"{Id(ctx, "name")}\" not found"));
    }

    internal static string Str(string s) => JsonSerializer.Serialize(s, EngineJsonContext.Default.String);

    internal static string Id(HttpContext ctx, string key = "id") => ctx.Request.RouteValues[key]?.ToString() ?? "";

    internal static int? Timeout(HttpContext ctx) =>
        ctx.Request.Query.TryGetValue("t", out var t) && t.ToString() != "" ? (int.TryParse(t, out var n) ? n : throw EngineException.BadRequest($"invalid value for t: {t}")) : null;

    internal static (int, int) Size(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        if (!int.TryParse(q["h"], out var h) || !int.TryParse(q["w"], out var w) || h < 0 || w < 0)
            throw EngineException.BadRequest($"invalid resize parameters: h={q["h"]}, w={q["w"]}");
        return (h, w);
    }

    internal static DateTime? UnixTime(string? v)
    {
        if (string.IsNullOrEmpty(v) || v == "0") return null;
        if (!decimal.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var s)) throw EngineException.BadRequest($"invalid timestamp: {v}");
        return DateTime.UnixEpoch.AddTicks((long)(s * TimeSpan.TicksPerSecond));
    }

    public static async Task Json<T>(HttpContext ctx, T value, JsonTypeInfo<T> info)
    {
        if (!ctx.Response.HasStarted) ctx.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(ctx.Response.Body, value, info);
        await ctx.Response.Body.WriteAsync("\n"u8.ToArray());
    }

    /// <summary>A prune's answer: {"XDeleted": [...], "SpaceReclaimed": N}.</summary>
    internal static string PruneReport(string listName, IEnumerable<string> deleted, long reclaimed) => Images.ImageJson.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray(listName);
        foreach (var d in deleted) w.WriteStringValue(d);
        w.WriteEndArray();
        w.WriteNumber("SpaceReclaimed", reclaimed);
        w.WriteEndObject();
    });

    internal static async Task Raw(HttpContext ctx, string json)
    {
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json + "\n");
    }

    private static VersionResponse VersionBody()
    {
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "";
        return new VersionResponse
        {
            Components = [new VersionComponent
            {
                Name = "Engine", Version = EngineVersion,
                Details = new() { ["ApiVersion"] = MaxVersion, ["Arch"] = "amd64", ["BuildTime"] = "", ["Experimental"] = "false", ["GitCommit"] = "", ["GoVersion"] = Environment.Version.ToString(), ["KernelVersion"] = kernel, ["MinAPIVersion"] = MinVersion, ["Os"] = "linux" },
            }, new VersionComponent { Name = "berth-runtime", Version = "1.0.0", Details = new() { ["GitCommit"] = "" } }],
            Version = EngineVersion, ApiVersion = MaxVersion, MinAPIVersion = MinVersion, GoVersion = ".NET " + Environment.Version,
            KernelVersion = kernel,
        };
    }

    private static string InfoJson(ContainerService cs)
    {
        var all = cs.All.ToList();
        int running = all.Count(c => c.Running && !c.R.State.Paused), paused = all.Count(c => c.R.State.Paused);
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "";
        long mem = 0;
        foreach (var l in File.ReadLines("/proc/meminfo"))
            if (l.StartsWith("MemTotal:", StringComparison.Ordinal)) { mem = long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024; break; }
        int images = cs.Images.List([]).Select(i => i.Id).Distinct().Count();
        bool v2 = File.Exists("/sys/fs/cgroup/cgroup.controllers");
        var d = new Dictionary<string, object?>();
        var sb = new StringBuilder("{");
        void P(string k, string jsonValue) { if (sb.Length > 1) sb.Append(','); sb.Append(Str(k)).Append(':').Append(jsonValue); }
        P("ID", Str(ContainerService.NetworkId("daemon")[..36]));
        P("Containers", all.Count.ToString()); P("ContainersRunning", running.ToString()); P("ContainersPaused", paused.ToString());
        P("ContainersStopped", (all.Count - running - paused).ToString()); P("Images", images.ToString());
        P("Driver", Str(cs.Images.Snapshots.Name == "overlay" ? "overlay2" : "vfs")); P("DriverStatus", "[]");
        P("Plugins", "{\"Volume\":[\"local\"],\"Network\":[\"bridge\",\"host\",\"null\"],\"Authorization\":null,\"Log\":[\"json-file\",\"local\"]}");
        P("MemoryLimit", "true"); P("SwapLimit", "true"); P("CpuCfsPeriod", "true"); P("CpuCfsQuota", "true"); P("CPUShares", "true"); P("CPUSet", "true");
        P("PidsLimit", "true"); P("IPv4Forwarding", "true"); P("Debug", "false"); P("NFd", Directory.GetFiles("/proc/self/fd").Length.ToString());
        P("OomKillDisable", "false"); P("NGoroutines", Environment.ProcessorCount.ToString()); P("SystemTime", Str(DateTime.UtcNow.ToString("o")));
        P("LoggingDriver", Str("json-file")); P("CgroupDriver", Str("cgroupfs")); P("CgroupVersion", Str(v2 ? "2" : "1")); P("NEventsListener", "0");
        P("KernelVersion", Str(kernel)); P("OperatingSystem", Str(OsName())); P("OSVersion", Str("")); P("OSType", Str("linux")); P("Architecture", Str("x86_64"));
        P("IndexServerAddress", Str("https://index.docker.io/v1/"));
        P("RegistryConfig", "{\"IndexConfigs\":{},\"InsecureRegistryCIDRs\":[\"127.0.0.0/8\"],\"Mirrors\":null}");
        P("NCPU", Environment.ProcessorCount.ToString()); P("MemTotal", mem.ToString()); P("GenericResources", "null");
        P("DockerRootDir", Str(cs.Images.Root)); P("HttpProxy", Str("")); P("HttpsProxy", Str("")); P("NoProxy", Str(""));
        P("Name", Str(Environment.MachineName)); P("Labels", "[]"); P("ExperimentalBuild", "false"); P("ServerVersion", Str(EngineVersion));
        P("Runtimes", "{\"berth-runtime\":{\"path\":\"berth-runtime\"}}"); P("DefaultRuntime", Str("berth-runtime"));
        P("Swarm", "{\"NodeID\":\"\",\"NodeAddr\":\"\",\"LocalNodeState\":\"inactive\",\"ControlAvailable\":false,\"Error\":\"\",\"RemoteManagers\":null}");
        P("LiveRestoreEnabled", "true"); P("Isolation", Str("")); P("InitBinary", Str(""));
        P("ContainerdCommit", "{\"ID\":\"\"}"); P("RuncCommit", "{\"ID\":\"\"}"); P("InitCommit", "{\"ID\":\"\"}");
        P("SecurityOptions", "[\"name=seccomp,profile=builtin\"]"); P("Warnings", "null");
        sb.Append('}');
        return sb.ToString();
    }

    private static string OsName()
    {
        if (!File.Exists("/etc/os-release")) return "Linux";
        foreach (var l in File.ReadLines("/etc/os-release"))
            if (l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)) return l[12..].Trim('"');
        return "Linux";
    }
}
