using System.Text;
using System.Text.Json;
using Berth.Engine.Containers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Berth.Engine.Api.DockerApi;

namespace Berth.Engine.Api;

/// <summary>The /images routes of the Docker Engine API, on the image library.</summary>
public static class ImageEndpoints
{
    public static void Map(WebApplication app, ContainerService cs)
    {
        app.MapGet("/images/json", async ctx =>
        {
            IReadOnlyList<Berth.Images.Service.ImageSummary> list;
            try { list = cs.Images.List(Filters.Parse(ctx.Request.Query["filters"]).Pairs(), Truthy(ctx.Request.Query["all"])); }
            catch (Berth.Images.ImageException e) { throw EngineException.BadRequest(e.Message); }
            var sb = new StringBuilder("[");
            foreach (var g in list.GroupBy(i => i.Id))
            {
                if (sb.Length > 1) sb.Append(',');
                var first = g.First();
                var tags = g.Where(i => i.Tag != "<none>").Select(i => $"{i.Repository}:{i.Tag}").Distinct().ToList();
                sb.Append($"{{\"Containers\":-1,\"Created\":{first.Created.ToUnixTimeSeconds()},\"Id\":{Str(first.Id)},\"Labels\":{{}},\"ParentId\":\"\",\"RepoDigests\":[],\"RepoTags\":[{string.Join(',', tags.Select(Str))}],\"SharedSize\":-1,\"Size\":{first.Size},\"VirtualSize\":{first.Size}}}");
            }
            sb.Append(']');
            await Raw(ctx, sb.ToString());
        });
        app.MapPost("/images/create", async ctx =>
        {
            var q = ctx.Request.Query;
            if (!string.IsNullOrEmpty(q["fromImage"])) { await PullAsync(ctx, cs); return; }
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
                {
                    try { id = cs.Images.Import(f, string.IsNullOrEmpty(repo) ? null : repo, changes, q["message"]); }
                    catch (Berth.Images.ImageException e) { throw EngineException.BadRequest(e.Message); }
                }
                await Raw(ctx, $"{{\"status\":{Str(id)}}}");
            }
            finally { File.Delete(tmp); }
        });
        app.MapGet("/images/{**rest}", async ctx =>
        {
            string rest = ctx.Request.RouteValues["rest"]?.ToString() ?? "";
            if (!rest.EndsWith("/json", StringComparison.Ordinal)) throw EngineException.NotFound("page not found");
            string name = rest[..^5];
            string json;
            try { json = cs.Images.Inspect([name]); }
            catch (Berth.Images.ImageException e) { throw EngineException.NotFound(e.Message); }
            var arr = JsonDocument.Parse(json).RootElement;
            await Raw(ctx, arr.ValueKind == JsonValueKind.Array && arr.GetArrayLength() > 0 ? arr[0].GetRawText() : throw EngineException.NotFound($"No such image: {name}"));
        });

    }

    /// <summary>POST /images/create?fromImage=: docker's progress JSON, one object per line; failures after the first line arrive as errorDetail in the 200.</summary>
    private static async Task PullAsync(HttpContext ctx, ContainerService cs)
    {
        var q = ctx.Request.Query;
        string reference = q["fromImage"]!;
        string tag = q["tag"].ToString();
        if (tag != "") reference += (tag.StartsWith("sha256:", StringComparison.Ordinal) ? "@" : ":") + tag;
        string? platform = string.IsNullOrEmpty(q["platform"]) ? null : q["platform"].ToString();
        var lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
        string Line(Berth.Images.Service.ProgressEvent e)
        {
            var sb = new StringBuilder("{\"status\":").Append(Str(e.Status));
            if (e.Total > 0 || e.Status is "Downloading" or "Extracting")
                sb.Append($",\"progressDetail\":{{\"current\":{e.Current},\"total\":{e.Total}}}");
            else if (e.Id != "") sb.Append(",\"progressDetail\":{}");
            if (e.Id != "") sb.Append(",\"id\":").Append(Str(e.Id));
            return sb.Append('}').ToString();
        }
        var progress = new InlineProgress(e => lines.Writer.TryWrite(Line(e)));
        var pull = Task.Run(async () =>
        {
            try { await cs.Images.PullAsync(reference, platform, progress, ctx.RequestAborted); }
            finally { lines.Writer.TryComplete(); }
        });
        bool started = false;
        await foreach (var l in lines.Reader.ReadAllAsync())
        {
            if (!started) { ctx.Response.ContentType = "application/json"; started = true; }
            await ctx.Response.WriteAsync(l + "\n");
            await ctx.Response.Body.FlushAsync();
        }
        try { await pull; }
        catch (Berth.Images.ImageException e) when (!started)
        {
            throw new EngineException(e is Berth.Images.NotFoundException || e.Message.Contains("not found") ? 404 : 500, e.Message);
        }
        catch (Exception e) when (started)
        {
            await ctx.Response.WriteAsync($"{{\"errorDetail\":{{\"message\":{Str(e.Message)}}},\"error\":{Str(e.Message)}}}\n");
        }
    }

    private sealed class InlineProgress(Action<Berth.Images.Service.ProgressEvent> report) : IProgress<Berth.Images.Service.ProgressEvent>
    {
        public void Report(Berth.Images.Service.ProgressEvent value) => report(value);
    }

}
