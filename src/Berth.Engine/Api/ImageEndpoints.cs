using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Berth.Engine.Containers;
using Berth.Engine.Images;
using Berth.Images;
using Berth.Images.References;
using Berth.Images.Registry;
using Berth.Images.Service;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using static Berth.Engine.Api.DockerApi;

namespace Berth.Engine.Api;

/// <summary>
/// The /images routes of the Docker Engine API, on the image library: list, inspect, history,
/// pull and import (create), push, tag, remove, save (get), load, prune. Names may hold slashes
/// and a registry port (<c>/images/127.0.0.1:5000/bb/push</c>), so the per-image routes are one
/// catch-all per method that splits off the action.
/// </summary>
public static class ImageEndpoints
{
    public static void Map(WebApplication app, ContainerService cs)
    {
        var events = new ImageEvents(cs.Events, cs.Images);

        app.MapGet("/images/json", ctx =>
        {
            var q = ctx.Request.Query;
            var list = Library(() => cs.Images.ListImages(FilterArgs(q["filters"]), Truthy(q["all"])));
            return Raw(ctx, ImageJson.Summaries(list, Truthy(q["shared-size"])));
        });
        app.MapPost("/images/create", async ctx =>
        {
            var q = ctx.Request.Query;
            if (!string.IsNullOrEmpty(q["fromImage"])) { await PullAsync(ctx, cs, events); return; }
            await ImportAsync(ctx, cs, events);
        });
        app.MapPost("/images/load", ctx => LoadAsync(ctx, cs, events));
        app.MapPost("/images/prune", ctx =>
        {
            var labels = new Dictionary<string, IReadOnlyDictionary<string, string>>();
            var report = Library(() => cs.Images.PruneImages(FilterArgs(ctx.Request.Query["filters"]), id =>
            {
                labels[id] = events.LabelsOf(id); // before the image goes
                return cs.UsersOfImage(id);
            }));
            events.PublishDeletes(report.Items, id => labels.GetValueOrDefault(id) ?? new Dictionary<string, string>());
            cs.Events.Publish("image", "prune", "", new() { ["reclaimed"] = report.SpaceReclaimed.ToString() });
            return Raw(ctx, ImageJson.Prune(report));
        });
        app.MapGet("/images/get", ctx => SaveAsync(ctx, cs, events, ctx.Request.Query["names"].Where(n => !string.IsNullOrEmpty(n)).Select(n => n!).ToList()));

        app.MapGet("/images/{**rest}", async ctx =>
        {
            var (name, action) = Split(ctx);
            switch (action)
            {
                case "json":
                    string json = Library(() => cs.Images.Inspect([name]));
                    var arr = JsonDocument.Parse(json).RootElement;
                    await Raw(ctx, arr.GetArrayLength() > 0 ? arr[0].GetRawText() : throw EngineException.NotFound($"No such image: {name}"));
                    return;
                case "history":
                    var rec = Library(() => cs.Images.Resolve(name));
                    var rows = Library(() => cs.Images.History(rec.Id));
                    var tags = cs.Images.Metadata.Read().Tags.Where(t => t.Value == rec.Id).Select(t => ImageReference.Parse(t.Key).Familiar).ToList();
                    await Raw(ctx, ImageJson.History(rows, tags));
                    return;
                case "get":
                    await SaveAsync(ctx, cs, events, [name]);
                    return;
                default:
                    throw EngineException.NotFound("page not found");
            }
        });
        app.MapPost("/images/{**rest}", async ctx =>
        {
            var (name, action) = Split(ctx);
            switch (action)
            {
                case "tag": Tag(ctx, cs, events, name); return;
                case "push": await PushAsync(ctx, cs, events, name); return;
                default: throw EngineException.NotFound("page not found");
            }
        });
        app.MapDelete("/images/{**rest}", ctx =>
        {
            string name = ctx.Request.RouteValues["rest"]?.ToString() ?? "";
            var labels = new Dictionary<string, IReadOnlyDictionary<string, string>>();
            var items = Library(() => cs.Images.DeleteImage(name, Truthy(ctx.Request.Query["force"]), id =>
            {
                labels[id] = events.LabelsOf(id);
                return cs.UsersOfImage(id);
            }));
            events.PublishDeletes(items, id => labels.GetValueOrDefault(id) ?? new Dictionary<string, string>());
            return Raw(ctx, ImageJson.DeleteItems(items));
        });
    }

    /// <summary>Splits "NAME/ACTION" (the name may contain slashes).</summary>
    private static (string Name, string Action) Split(HttpContext ctx)
    {
        string rest = ctx.Request.RouteValues["rest"]?.ToString() ?? "";
        int slash = rest.LastIndexOf('/');
        if (slash <= 0) throw EngineException.NotFound("page not found");
        return (rest[..slash], rest[(slash + 1)..]);
    }

    /// <summary>The library's failures as docker's statuses: no such image 404, conflict 409, anything else the caller got wrong 400.</summary>
    internal static T Library<T>(Func<T> work)
    {
        try { return work(); }
        catch (NotFoundException e) { throw EngineException.NotFound(e.Message); }
        catch (ConflictException e) { throw EngineException.Conflict(e.Message); }
        catch (RegistryException e) { throw new EngineException(500, e.Message); }
        catch (ImageException e) { throw EngineException.BadRequest(e.Message); }
    }

    /// <summary>docker's filters JSON as the library's "key=value" list (the library rejects unknown keys with "invalid filter 'x'").</summary>
    internal static List<string> FilterArgs(string? json) => Filters.Parse(json).Pairs();

    // ---- tag ----

    /// <summary>POST /images/{name}/tag?repo=&amp;tag=: 201; a malformed repo or tag 400, an unknown image 404.</summary>
    private static void Tag(HttpContext ctx, ContainerService cs, ImageEvents events, string name)
    {
        string repo = ctx.Request.Query["repo"].ToString(), tag = ctx.Request.Query["tag"].ToString();
        if (repo == "") throw EngineException.BadRequest("invalid reference format: repository name must have at least one component");
        var target = Library(() =>
        {
            var r = ImageReference.Parse(repo);
            if (r.Digest is not null) throw new ImageException("cannot tag using a digest reference");
            return tag == "" ? r : r.WithTag(tag);
        });
        if (target.FamiliarName == "sha256") throw EngineException.BadRequest("refusing to create an ambiguous tag using digest algorithm as name");
        var rec = Library(() => cs.Images.Resolve(name));
        Library(() => { cs.Images.Tag(rec.Id, target.ToString()); return 0; });
        events.Publish("tag", rec.Id, target.Familiar);
        ctx.Response.StatusCode = 201;
    }

    // ---- pull, push: progress streams ----

    /// <summary>X-Registry-Auth: base64url JSON of docker's AuthConfig; "{}" (e30=) means anonymous.</summary>
    internal static Credentials? RegistryAuth(HttpContext ctx)
    {
        string header = ctx.Request.Headers["X-Registry-Auth"].ToString();
        if (header == "") return null;
        try
        {
            string b64 = header.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            using var doc = JsonDocument.Parse(Convert.FromBase64String(b64));
            string? Field(string n) => doc.RootElement.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            string? user = Field("username"), password = Field("password");
            if (string.IsNullOrEmpty(user) && Field("identitytoken") is { Length: > 0 } token) return new Credentials("<token>", token);
            return string.IsNullOrEmpty(user) ? null : new Credentials(user, password ?? "");
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            throw EngineException.BadRequest($"invalid X-Registry-Auth header: {e.Message}");
        }
    }

    /// <summary>
    /// Runs a pull or push and streams its progress, one JSON object per line. A failure before the
    /// first line is a plain error status; after it, docker's errorDetail line inside the 200.
    /// </summary>
    private static async Task StreamAsync(HttpContext ctx, Func<Action<string>, Task> work, Func<ImageException, int> statusOf)
    {
        var lines = Channel.CreateUnbounded<string>();
        var job = Task.Run(async () =>
        {
            try { await work(l => lines.Writer.TryWrite(l)); }
            finally { lines.Writer.TryComplete(); }
        });
        bool started = false;
        await foreach (var l in lines.Reader.ReadAllAsync())
        {
            if (!started) { ctx.Response.ContentType = "application/json"; started = true; }
            await ctx.Response.WriteAsync(l + "\n");
            await ctx.Response.Body.FlushAsync();
        }
        try { await job; }
        catch (ImageException e) when (!started) { throw new EngineException(statusOf(e), e.Message); }
        catch (Exception e) when (started && e is not OperationCanceledException)
        {
            await ctx.Response.WriteAsync(ImageJson.Error(e.Message) + "\n");
        }
    }

    /// <summary>POST /images/create?fromImage=&amp;tag=.</summary>
    private static async Task PullAsync(HttpContext ctx, ContainerService cs, ImageEvents events)
    {
        var q = ctx.Request.Query;
        string reference = q["fromImage"]!;
        string tag = q["tag"].ToString();
        if (tag != "") reference += (tag.StartsWith("sha256:", StringComparison.Ordinal) ? "@" : ":") + tag;
        string? platform = string.IsNullOrEmpty(q["platform"]) ? null : q["platform"].ToString();
        var credentials = RegistryAuth(ctx);
        var r = Library(() => ImageReference.Parse(reference));
        await StreamAsync(ctx, async emit =>
        {
            using var _ = cs.Images.UseCredentials(credentials);
            var progress = new InlineProgress(e => emit(ImageJson.Progress(e)));
            string id = await cs.Images.PullAsync(reference, platform, progress, ctx.RequestAborted);
            events.Publish("pull", r.Familiar, r.Familiar, events.LabelsOf(id));
        }, e => e is NotFoundException || e.Message.Contains("not found") ? 404 : 500);
    }

    /// <summary>
    /// POST /images/{name}/push?tag=: the tag given, or (tag empty, name without one) every tag of
    /// the repository. Each ends with "TAG: digest: D size: N" and the aux object the CLI reads.
    /// </summary>
    private static async Task PushAsync(HttpContext ctx, ContainerService cs, ImageEvents events, string name)
    {
        string tag = ctx.Request.Query["tag"].ToString();
        var credentials = RegistryAuth(ctx);
        var r = Library(() => ImageReference.Parse(name));
        bool nameHasTag = r.Tag is not null && name[(name.LastIndexOf('/') + 1)..].Contains(':');
        List<ImageReference> targets;
        if (tag != "") targets = [Library(() => r.WithTag(tag))];
        else if (nameHasTag || r.Digest is not null) targets = [r];
        else
        {
            targets = cs.Images.Metadata.Read().Tags.Keys.Select(ImageReference.Parse).Where(t => t.Name == r.Name).ToList();
            if (targets.Count == 0) throw EngineException.NotFound($"An image does not exist locally with the tag: {r.FamiliarName}");
        }
        foreach (var t in targets)
            if (!cs.Images.Metadata.Read().Tags.ContainsKey(t.ToString()))
                throw EngineException.NotFound($"An image does not exist locally with the tag: {t.FamiliarName}");

        await StreamAsync(ctx, async emit =>
        {
            using var _ = cs.Images.UseCredentials(credentials);
            var progress = new InlineProgress(e => emit(ImageJson.Progress(e)));
            foreach (var t in targets)
            {
                string digest = await cs.Images.PushAsync(t.ToString(), progress, ctx.RequestAborted);
                var rec = cs.Images.Resolve(t.ToString());
                emit(ImageJson.PushAux(t.Tag ?? digest, digest, rec.Manifest.Size));
                events.Publish("push", t.Familiar, t.Familiar, events.LabelsOf(rec.Id));
            }
        }, e => e is NotFoundException ? 404 : 500);
    }

    private sealed class InlineProgress(Action<ProgressEvent> report) : IProgress<ProgressEvent>
    {
        public void Report(ProgressEvent value) => report(value);
    }

    // ---- import, save, load ----

    /// <summary>POST /images/create?fromSrc=-&amp;repo=&amp;tag=&amp;changes=&amp;message=: the body is a root filesystem tarball.</summary>
    private static async Task ImportAsync(HttpContext ctx, ContainerService cs, ImageEvents events)
    {
        var q = ctx.Request.Query;
        if (q["fromSrc"] != "-") throw EngineException.BadRequest("fromSrc: only - (the request body) is supported");
        string? repo = q["repo"];
        string tag = q["tag"].ToString();
        if (!string.IsNullOrEmpty(repo) && tag != "") repo += ":" + tag;
        var changes = q["changes"].Where(x => !string.IsNullOrEmpty(x)).Select(x => x!).ToList();
        var tmp = Path.GetTempFileName();
        try
        {
            await using (var f = File.Create(tmp)) await ctx.Request.Body.CopyToAsync(f);
            string id;
            await using (var f = File.OpenRead(tmp))
                id = Library(() => cs.Images.Import(f, string.IsNullOrEmpty(repo) ? null : repo, changes, q["message"]));
            events.Publish("import", id);
            await Raw(ctx, $"{{\"status\":{Str(id)}}}");
        }
        finally { File.Delete(tmp); }
    }

    /// <summary>GET /images/get?names=… and GET /images/{name}/get: a docker-archive tarball, streamed.</summary>
    private static async Task SaveAsync(HttpContext ctx, ContainerService cs, ImageEvents events, List<string> names)
    {
        if (names.Count == 0) throw EngineException.BadRequest("no image names given (names=)");
        var ids = names.Select(n => Library(() => cs.Images.Resolve(n)).Id).Distinct().ToList(); // 404 before any byte
        ctx.Response.ContentType = "application/x-tar";
        // The archive writer is synchronous: it runs on a pool thread with synchronous writes allowed.
        ctx.Features.Get<IHttpBodyControlFeature>()!.AllowSynchronousIO = true;
        try
        {
            await Task.Run(() => cs.Images.Save(names, ctx.Response.Body, ArchiveFormat.Docker));
        }
        catch (Exception) when (ctx.Response.HasStarted)
        {
            ctx.Abort(); // a cut tar is the only way to tell the client mid-stream
            return;
        }
        foreach (var id in ids) events.Publish("save", id);
    }

    /// <summary>POST /images/load?quiet=: a docker-archive or OCI layout tarball; "Loaded image: …" lines. A body that is no such archive is a 400 and leaves the store as it was.</summary>
    private static async Task LoadAsync(HttpContext ctx, ContainerService cs, ImageEvents events)
    {
        ctx.Features.Get<IHttpBodyControlFeature>()!.AllowSynchronousIO = true;
        IReadOnlyList<string> lines;
        try
        {
            lines = await Task.Run(() => Library(() =>
            {
                try { return cs.Images.Load(ctx.Request.Body); }
                catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
                {
                    throw new ImageException($"invalid tar archive: {e.Message}");
                }
            }));
        }
        catch (EngineException e) when (e.Status == 400)
        {
            throw EngineException.BadRequest($"failed to load the archive: {e.Message}");
        }
        var sb = new StringBuilder();
        var loaded = new List<string>();
        foreach (var l in lines)
        {
            sb.Append(ImageJson.StreamLine(l + "\n")).Append('\n');
            string reference = l.StartsWith("Loaded image ID: ", StringComparison.Ordinal) ? l[17..] : l.StartsWith("Loaded image: ", StringComparison.Ordinal) ? l[14..] : "";
            if (reference == "") continue;
            try { var rec = cs.Images.Resolve(reference); if (!loaded.Contains(rec.Id)) loaded.Add(rec.Id); }
            catch (ImageException) { /* removed again meanwhile */ }
        }
        foreach (var id in loaded) events.Publish("load", id);
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(sb.ToString());
    }
}
