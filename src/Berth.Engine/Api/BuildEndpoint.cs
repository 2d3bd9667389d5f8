using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Berth.Engine.Build;
using Berth.Engine.Containers;
using Berth.Engine.Images;
using Berth.Images;
using Berth.Images.Layers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Berth.Engine.Api.DockerApi;

namespace Berth.Engine.Api;

/// <summary>
/// POST /build: the classic builder's API. The body is the build context as a tar (gzip allowed),
/// unpacked confined to a temporary folder; the answer is a stream of JSON messages ({"stream"},
/// {"aux":{"ID"}}, and {"errorDetail"} for a failure, which the docker CLI prints and exits 1 on).
/// </summary>
internal static class BuildEndpoint
{
    public static void Map(WebApplication app, ContainerService cs, EngineOptions o)
    {
        app.MapPost("/build", async ctx =>
        {
            var q = ctx.Request.Query;
            var tags = q["t"].Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToList();
            foreach (var t in tags)
                if (!Berth.Images.References.ImageReference.TryParse(t, out _, out var err)) throw EngineException.BadRequest($"invalid tag \"{t}\": {err}");
            if (q["remote"].ToString() is { Length: > 0 } remote) throw EngineException.BadRequest($"building from a remote context ({remote}) is not supported by berthd");
            var buildArgs = JsonMap(q["buildargs"], "buildargs");
            var labels = JsonMap(q["labels"], "labels").Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);
            string dockerfile = q["dockerfile"].ToString() is { Length: > 0 } df ? df : "Dockerfile";
            bool quiet = q["q"] is var qv && (qv == "1" || qv == "true" || qv == "True");

            string work = Path.Combine(o.ExecRoot, "build", Guid.NewGuid().ToString("N"));
            string context = Path.Combine(work, "context");
            Directory.CreateDirectory(context);
            try
            {
                await UnpackContext(ctx, context);
                ctx.Response.ContentType = "application/json";
                var messages = Channel.CreateUnbounded<string>();
                var build = Task.Run(async () =>
                {
                    try
                    {
                        var b = new Builder(cs, text => { if (!quiet) messages.Writer.TryWrite(Message("stream", text)); });
                        string id = await b.BuildAsync(new BuildRequest(context, dockerfile, tags, buildArgs, labels));
                        messages.Writer.TryWrite(ImageJson.Write(w => { w.WriteStartObject(); w.WriteStartObject("aux"); w.WriteString("ID", id); w.WriteEndObject(); w.WriteEndObject(); }) + "\r\n");
                        if (quiet) messages.Writer.TryWrite(Message("stream", id + "\n"));
                        foreach (var t in tags) cs.Events.Publish("image", "tag", id, new() { ["name"] = t });
                    }
                    catch (Exception e) when (e is BuildException or EngineException or ImageException or Berth.Linux.LinuxException or IOException)
                    {
                        messages.Writer.TryWrite(ImageJson.Write(w =>
                        {
                            w.WriteStartObject();
                            w.WriteStartObject("errorDetail"); w.WriteString("message", e.Message); w.WriteEndObject();
                            w.WriteString("error", e.Message);
                            w.WriteEndObject();
                        }) + "\r\n");
                    }
                    finally { messages.Writer.TryComplete(); }
                });
                await foreach (var m in messages.Reader.ReadAllAsync())
                {
                    await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(m));
                    await ctx.Response.Body.FlushAsync();
                }
                await build;
            }
            finally
            {
                try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        });
    }

    private static string Message(string key, string text) =>
        ImageJson.Write(w => { w.WriteStartObject(); w.WriteString(key, text); w.WriteEndObject(); }) + "\r\n";

    /// <summary>The context tar (plain or gzip) unpacked into <paramref name="dir"/> as it arrives: no entry lands outside it.</summary>
    private static async Task UnpackContext(HttpContext ctx, string dir)
    {
        if (ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpBodyControlFeature>() is { } f) f.AllowSynchronousIO = true;
        var body = ctx.Request.Body;
        var head = new byte[2];
        int n = 0, k;
        while (n < 2 && (k = await body.ReadAsync(head.AsMemory(n))) > 0) n += k;
        Stream tar = new Berth.Engine.Store.ConcatenatedStream(new MemoryStream(head, 0, n), new BufferedStream(body, 128 * 1024));
        if (n == 2 && head[0] == 0x1f && head[1] == 0x8b) tar = new System.IO.Compression.GZipStream(tar, System.IO.Compression.CompressionMode.Decompress);
        try { await Task.Run(() => new LayerExtractor(dir, WhiteoutMode.None).Extract(tar)); }
        catch (ImageException e) { throw EngineException.BadRequest($"the build context is not a valid tar archive: {e.Message}"); }
        catch (InvalidDataException e) { throw EngineException.BadRequest($"the build context is not a valid gzip stream: {e.Message}"); }
    }

    private static Dictionary<string, string?> JsonMap(string? json, string what)
    {
        var result = new Dictionary<string, string?>();
        if (string.IsNullOrEmpty(json)) return result;
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw EngineException.BadRequest($"{what} must be a JSON object");
            foreach (var p in doc.RootElement.EnumerateObject())
                result[p.Name] = p.Value.ValueKind == JsonValueKind.Null ? null : p.Value.GetString();
        }
        catch (JsonException e) { throw EngineException.BadRequest($"{what} is not valid JSON: {e.Message}"); }
        return result;
    }
}
