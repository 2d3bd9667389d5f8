using System.Text.Json;
using Berth.Cli.Build;
using Berth.Cli.Client;
using Berth.Images.Archive;
using Berth.Linux.Interop;

namespace Berth.Cli.Commands;

// build: the context as a tar (.dockerignore applied) to POST /build, its messages printed as docker's classic builder prints them.
public sealed partial class EngineCommands
{
    private async Task<int> BuildImage(List<string> argv, CancellationToken ct)
    {
        var a = new Args("build", argv, ["quiet|q", "no-cache", "pull", "rm", "force-rm"], ["tag|t", "file|f", "build-arg", "label", "network", "platform", "target"]);
        a.Require(1, 1, "[OPTIONS] PATH");
        if (a.Value("target") is not null) throw new CliException("--target is not supported by berthd's builder yet");
        string context = Path.GetFullPath(a.Positional[0]);
        if (a.Positional[0] == "-" || a.Positional[0].Contains("://")) throw new CliException("berth build takes a local directory as its context");
        if (!Directory.Exists(context)) throw new CliException($"unable to prepare context: path \"{a.Positional[0]}\" not found");

        // -f: a path from here; inside the context it is sent as it is, outside it travels in the tar under a name of its own.
        string dockerfile = a.Value("file") is { } f ? Path.GetFullPath(f) : Path.Combine(context, "Dockerfile");
        if (!File.Exists(dockerfile)) throw new CliException($"unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {dockerfile}: no such file or directory");
        string rel = Path.GetRelativePath(context, dockerfile);
        string? extra = null;
        if (rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel)) { extra = dockerfile; rel = ".berth-dockerfile-" + Guid.NewGuid().ToString("N")[..12]; }

        var ignore = DockerIgnore.Load(context);
        string tar = Path.Combine(Path.GetTempPath(), $"berth-build-{Guid.NewGuid():N}.tar");
        try
        {
            long size;
            using (var fs = File.Create(tar))
            {
                WriteContext(context, ignore, rel, extra, fs);
                size = fs.Length;
            }
            if (!a.Flag("quiet")) Err.Write($"Sending build context to Docker daemon  {Formatting.Size(size)}\n");
            var q = new List<string> { "dockerfile=" + Esc(rel.Replace('\\', '/')) };
            foreach (var t in a.Values("tag")) q.Add("t=" + Esc(t));
            if (a.Values("build-arg").Count > 0) q.Add("buildargs=" + Esc(PairsJson(a.Values("build-arg"), fromEnvironment: true)));
            if (a.Values("label").Count > 0) q.Add("labels=" + Esc(PairsJson(a.Values("label"), fromEnvironment: false)));
            if (a.Flag("quiet")) q.Add("q=1");
            var c = await ClientAsync(ct);
            await using var body = File.OpenRead(tar);
            var content = new StreamContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
            using var resp = await c.SendAsync(HttpMethod.Post, "/build?" + string.Join('&', q), content, streaming: true, ct: ct);
            using var stream = await resp.Content.ReadAsStreamAsync(ct);
            string? id = null;
            await foreach (var e in DockerClient.ReadJsonLines(stream, ct))
            {
                if (Obj(e, "errorDetail") is { ValueKind: JsonValueKind.Object } ed && Str(ed, "message") is { Length: > 0 } m) throw new CliException(m);
                if (Str(e, "error") is { Length: > 0 } error) throw new CliException(error);
                if (Obj(e, "aux") is { ValueKind: JsonValueKind.Object } aux) id = Str(aux, "ID");
                if (Str(e, "stream") is { Length: > 0 } text && !a.Flag("quiet")) Out.Write(text);
            }
            if (a.Flag("quiet") && id is not null) Out.WriteLine(id);
            return 0;
        }
        finally { File.Delete(tar); }
    }

    /// <summary>The context directory as a tar, without what .dockerignore excludes (the Dockerfile and .dockerignore always go).</summary>
    private static void WriteContext(string context, DockerIgnore ignore, string dockerfileName, string? outsideDockerfile, Stream output)
    {
        int fd = LibC.open(context, O.PATH | O.DIRECTORY | O.CLOEXEC, 0);
        if (fd < 0) throw new CliException($"unable to prepare context: cannot open {context}");
        try
        {
            var w = new TarStreamWriter(output);
            TreeTar.WriteDirectory(w, fd, "", new TreeTarOptions
            {
                Skip = p => p != dockerfileName && p != ".dockerignore" && ignore.Excludes(p),
            }, includeSelf: false);
            if (outsideDockerfile is not null)
            {
                int dir = LibC.open(Path.GetDirectoryName(outsideDockerfile)!, O.PATH | O.DIRECTORY | O.CLOEXEC, 0);
                if (dir < 0) throw new CliException($"unable to prepare context: cannot open {outsideDockerfile}");
                try { TreeTar.WriteEntry(w, dir, Path.GetFileName(outsideDockerfile), dockerfileName, new TreeTarOptions()); }
                finally { LibC.close(dir); }
            }
            w.Finish();
        }
        finally { LibC.close(fd); }
    }

    /// <summary>--build-arg K=V (a bare K takes the value from the environment, as docker) or --label K=V as a JSON object.</summary>
    private static string PairsJson(IEnumerable<string> pairs, bool fromEnvironment) => System.Text.Encoding.UTF8.GetString(Json(w =>
    {
        w.WriteStartObject();
        foreach (var p in pairs)
        {
            int eq = p.IndexOf('=');
            if (eq > 0) w.WriteString(p[..eq], p[(eq + 1)..]);
            else if (fromEnvironment && Environment.GetEnvironmentVariable(p) is { } v) w.WriteString(p, v);
            else if (!fromEnvironment) w.WriteString(p, "");
        }
        w.WriteEndObject();
    }));
}
