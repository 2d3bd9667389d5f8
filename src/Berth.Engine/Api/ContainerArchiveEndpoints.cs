using System.Text;
using Berth.Engine.Containers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using static Berth.Engine.Api.DockerApi;

namespace Berth.Engine.Api;

/// <summary>The copy, export, changes and commit routes of a container (docker cp, export, diff, commit).</summary>
public static class ContainerArchiveEndpoints
{
    public static void Map(WebApplication app, ContainerService cs)
    {
        // docker cp: HEAD stats a path, GET reads it as a tar, PUT extracts a tar into a directory.
        app.MapMethods("/containers/{id}/archive", ["HEAD"], async ctx =>
        {
            var (c, name, path) = Target(ctx, cs);
            using var root = await cs.OpenRootAsync(c, processView: true);
            ctx.Response.Headers["X-Docker-Container-Path-Stat"] = StatHeader(cs.StatPath(root, path, name));
            ctx.Response.StatusCode = 200;
        });
        app.MapGet("/containers/{id}/archive", async ctx =>
        {
            var (c, name, path) = Target(ctx, cs);
            using var root = await cs.OpenRootAsync(c, processView: true);
            ctx.Response.Headers["X-Docker-Container-Path-Stat"] = StatHeader(cs.StatPath(root, path, name));
            ctx.Response.ContentType = "application/x-tar";
            await WriteSyncAsync(ctx, body => cs.WriteArchive(root, path, name, body));
        });
        app.MapPut("/containers/{id}/archive", async ctx =>
        {
            var (c, name, path) = Target(ctx, cs);
            var q = ctx.Request.Query;
            using var root = await cs.OpenRootAsync(c, processView: true);
            AllowSyncIo(ctx);
            var body = new BufferedStream(ctx.Request.Body, 128 * 1024);
            await Task.Run(() => cs.ExtractArchive(c, root, path, name, body, Truthy(q["noOverwriteDirNonDir"]), Truthy(q["copyUIDGID"])));
            ctx.Response.StatusCode = 200;
        });

        app.MapGet("/containers/{id}/export", async ctx =>
        {
            var c = cs.Get(Id(ctx));
            using var root = await cs.OpenRootAsync(c, processView: false);
            ctx.Response.ContentType = "application/x-tar";
            await WriteSyncAsync(ctx, body => ContainerService.WriteExport(root, body));
        });

        app.MapGet("/containers/{id}/changes", ctx =>
        {
            var changes = cs.Changes(cs.Get(Id(ctx)));
            return Raw(ctx, changes.Count == 0 ? "null" : "[" + string.Join(',', changes.Select(x => $"{{\"Path\":{Str(x.Path)},\"Kind\":{x.Kind}}}")) + "]");
        });

        app.MapPost("/commit", async ctx =>
        {
            var q = ctx.Request.Query;
            string container = q["container"].ToString();
            if (container == "") throw EngineException.BadRequest("container is required: /commit?container=NAME");
            var c = cs.Get(container);
            var changes = q["changes"].Where(x => !string.IsNullOrEmpty(x)).SelectMany(x => x!.Split('\n')).Where(x => x.Trim() != "").ToList();
            var o = new ContainerService.CommitOptions(q["repo"], q["tag"], q["comment"], q["author"], changes,
                !q.ContainsKey("pause") || q["pause"] == "" || Truthy(q["pause"]));
            string id = await cs.CommitAsync(c, o);
            ctx.Response.StatusCode = 201;
            await Json(ctx, new IdResponse { Id = id }, EngineJsonContext.Default.IdResponse);
        });
    }

    private static (Container C, string Name, string Path) Target(HttpContext ctx, ContainerService cs)
    {
        string name = Id(ctx);
        var c = cs.Get(name);
        string path = ctx.Request.Query["path"].ToString();
        if (path == "") throw EngineException.BadRequest("Path cannot be empty");
        return (c, name, path);
    }

    internal static string StatHeader(PathStat s)
    {
        string json = $"{{\"name\":{Str(s.Name)},\"size\":{s.Size},\"mode\":{s.Mode},\"mtime\":{Str(s.Mtime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'"))},\"linkTarget\":{Str(s.LinkTarget)}}}";
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
    }

    private static void AllowSyncIo(HttpContext ctx)
    {
        if (ctx.Features.Get<IHttpBodyControlFeature>() is { } f) f.AllowSynchronousIO = true;
    }

    /// <summary>
    /// Runs a synchronous tar writer against the response body off the request thread. Errors before the
    /// first byte still become docker's JSON error; after it, the connection is cut (the client sees a short tar).
    /// </summary>
    private static async Task WriteSyncAsync(HttpContext ctx, Action<Stream> write)
    {
        AllowSyncIo(ctx);
        var body = new BufferedStream(ctx.Response.Body, 128 * 1024);
        try
        {
            await Task.Run(() => { write(body); body.Flush(); });
        }
        catch (Exception) when (ctx.Response.HasStarted)
        {
            ctx.Abort();
        }
    }
}
