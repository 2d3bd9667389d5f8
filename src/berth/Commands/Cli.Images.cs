using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Cli.Client;
using Berth.Images;
using Berth.Images.References;
using Berth.Images.Registry;
using Berth.Images.Service;

namespace Berth.Cli.Commands;

// images, pull, push, tag, rmi, save, load, history, import: the /images routes.
public sealed partial class EngineCommands
{
    private static readonly Dictionary<string, string> ImageHeaders = new()
    {
        ["Repository"] = "REPOSITORY", ["Tag"] = "TAG", ["ID"] = "IMAGE ID", ["Digest"] = "DIGEST", ["CreatedSince"] = "CREATED",
        ["CreatedAt"] = "CREATED AT", ["Size"] = "SIZE", ["Containers"] = "CONTAINERS",
    };

    private async Task<int> Images(List<string> argv, CancellationToken ct)
    {
        var a = new Args("images", argv, ["quiet|q", "all|a", "digests", "no-trunc"], ["filter|f", "format"]);
        a.Require(0, 1, "[OPTIONS] [REPOSITORY[:TAG]]");
        var filters = a.Values("filter").ToList();
        if (a.Positional.Count == 1) filters.Add("reference=" + a.Positional[0]);
        var c = await ClientAsync(ct);
        string q = DockerClient.Query(("all", a.Flag("all") ? "1" : null), ("filters", filters.Count > 0 ? FiltersJson(filters) : null));
        using var doc = await c.GetJsonAsync("/images/json" + q, ct);
        bool trunc = !a.Flag("no-trunc");
        var images = doc.RootElement.EnumerateArray().OrderByDescending(i => Num(i, "Created")).ToList();
        if (a.Flag("quiet") && a.Value("format") is null)
        {
            foreach (var id in images.Select(i => trunc ? ShortId(Str(i, "Id")) : Str(i, "Id")).Distinct()) Out.WriteLine(id);
            return 0;
        }
        var rows = new List<JsonElement>();
        foreach (var i in images)
        {
            string id = trunc ? ShortId(Str(i, "Id")) : Str(i, "Id");
            var created = DateTimeOffset.FromUnixTimeSeconds(Num(i, "Created"));
            var tags = Obj(i, "RepoTags") is { ValueKind: JsonValueKind.Array } rt ? rt.EnumerateArray().Select(t => t.GetString() ?? "").Where(t => t != "<none>:<none>").ToList() : [];
            var digests = Obj(i, "RepoDigests") is { ValueKind: JsonValueKind.Array } rd ? rd.EnumerateArray().Select(t => t.GetString() ?? "").ToList() : [];
            if (tags.Count == 0) tags.Add("<none>:<none>");
            foreach (var t in tags)
            {
                int colon = t.LastIndexOf(':');
                string repo = colon > t.LastIndexOf('/') ? t[..colon] : t, tag = colon > t.LastIndexOf('/') ? t[(colon + 1)..] : "<none>";
                string digest = digests.FirstOrDefault(d => d.StartsWith(repo + "@", StringComparison.Ordinal)) is { } dd ? dd[(dd.IndexOf('@') + 1)..] : "<none>";
                rows.Add(Row([
                    ("Repository", repo), ("Tag", tag), ("ID", id), ("Digest", digest), ("CreatedSince", Formatting.Since(created)),
                    ("CreatedAt", created.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " +0000 UTC"),
                    ("Size", Formatting.Size(Num(i, "Size"))), ("Containers", Num(i, "Containers") is var n && n >= 0 ? n.ToString(CultureInfo.InvariantCulture) : "N/A"),
                ]));
            }
        }
        string format = a.Value("format") ?? (a.Flag("digests")
            ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
            : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}");
        Out.Write(GoTemplate.RenderLines(format, rows, ImageHeaders));
        return 0;
    }

    private async Task<int> Pull(List<string> argv, CancellationToken ct)
    {
        var a = new Args("pull", argv, ["quiet|q", "all-tags|a", "disable-content-trust"], ["platform"]);
        a.Require(1, 1, "[OPTIONS] NAME[:TAG|@DIGEST]");
        if (a.Flag("all-tags")) throw new UsageException("--all-tags is not supported yet");
        var c = await ClientAsync(ct);
        var r = await PullImage(c, a.Positional[0], a.Value("platform"), a.Flag("quiet"), Out, ct);
        Out.WriteLine(r.ToString());
        return 0;
    }

    /// <summary>POST /images/create?fromImage=: docker's progress lines, drawn as bars on a terminal; an error line fails the pull.</summary>
    private async Task<ImageReference> PullImage(DockerClient c, string name, string? platform, bool quiet, TextWriter output, CancellationToken ct)
    {
        if (!ImageReference.TryParse(name, out var r, out var err)) throw new CliException(err ?? "invalid reference format");
        bool hasTag = name.LastIndexOf(':') > name.LastIndexOf('/');
        if (!quiet && r!.Digest is null && !hasTag)
            output.WriteLine($"Using default tag: {ImageReference.DefaultTag}");
        string tag = r!.Digest?.ToString() ?? r.Tag ?? ImageReference.DefaultTag;
        string q = DockerClient.Query(("fromImage", r.FamiliarName), ("tag", tag), ("platform", platform));
        using var resp = await c.SendAsync(HttpMethod.Post, "/images/create" + q, headers: [new("X-Registry-Auth", RegistryAuth(r.Registry))], streaming: true, ct: ct);
        await using var body = await resp.Content.ReadAsStreamAsync(ct);
        await ShowProgress(body, new ProgressPrinter(output, quiet, Terminal.RawTerminal.IsTerminal(output == Err ? 2 : 1)), ct);
        output.Flush();
        return r;
    }

    /// <summary>Feeds docker's JSON progress lines to the printer; an errorDetail line ends it with that message.</summary>
    private static async Task ShowProgress(Stream body, ProgressPrinter printer, CancellationToken ct, Action<JsonElement>? aux = null)
    {
        await foreach (var e in DockerClient.ReadJsonLines(body, ct))
        {
            if (Str(e, "error") is { Length: > 0 } error) throw new CliException(OneLine(error));
            if (Obj(e, "errorDetail") is { ValueKind: JsonValueKind.Object } ed && Str(ed, "message") is { Length: > 0 } m) throw new CliException(OneLine(m));
            if (Obj(e, "aux") is { ValueKind: JsonValueKind.Object } ax) aux?.Invoke(ax);
            string status = Str(e, "status");
            if (status.Length == 0) continue;
            var detail = Obj(e, "progressDetail");
            printer.Report(new ProgressEvent(Str(e, "id"), status, Num(detail, "current"), Num(detail, "total")));
        }
    }

    /// <summary>X-Registry-Auth: the stored credentials for the registry as base64url JSON ("e30=" for none, as docker).</summary>
    private static string RegistryAuth(string registry)
    {
        Credentials? creds = null;
        try { creds = new CredentialStore().Get(registry); }
        catch (ImageException) { }
        var body = creds is null ? new AuthConfigBody()
            : new AuthConfigBody { Username = creds.Username, Password = creds.Password, ServerAddress = registry == ImageReference.DockerHub ? CredentialStore.DockerHubKey : registry };
        return Convert.ToBase64String(Serialize(body, CliJsonContext.Default.AuthConfigBody)).Replace('+', '-').Replace('/', '_');
    }

    private async Task<int> Push(List<string> argv, CancellationToken ct)
    {
        var a = new Args("push", argv, ["quiet|q", "all-tags|a", "disable-content-trust"], ["platform"]);
        a.Require(1, 1, "[OPTIONS] NAME[:TAG]");
        if (!ImageReference.TryParse(a.Positional[0], out var r, out var err)) throw new CliException(err ?? "invalid reference format");
        var c = await ClientAsync(ct);
        bool hasTag = a.Positional[0].LastIndexOf(':') > a.Positional[0].LastIndexOf('/');
        if (!hasTag && !a.Flag("all-tags") && !a.Flag("quiet")) Out.WriteLine($"Using default tag: {ImageReference.DefaultTag}");
        string q = DockerClient.Query(("tag", a.Flag("all-tags") ? null : r!.Tag ?? ImageReference.DefaultTag), ("platform", a.Value("platform")));
        using var resp = await c.SendAsync(HttpMethod.Post, $"/images/{ImagePath(r!.FamiliarName)}/push{q}", headers: [new("X-Registry-Auth", RegistryAuth(r.Registry))], streaming: true, ct: ct);
        await using var body = await resp.Content.ReadAsStreamAsync(ct);
        await ShowProgress(body, new ProgressPrinter(Out, a.Flag("quiet")), ct);
        if (a.Flag("quiet")) Out.WriteLine(r.ToString());
        return 0;
    }

    private async Task<int> Tag(List<string> argv, CancellationToken ct)
    {
        var a = new Args("tag", argv, [], []);
        a.Require(2, 2, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]");
        if (!ImageReference.TryParse(a.Positional[1], out var target, out var err)) throw new CliException(err ?? "invalid reference format");
        var c = await ClientAsync(ct);
        string q = DockerClient.Query(("repo", target!.Name), ("tag", target.Tag ?? ImageReference.DefaultTag));
        await c.PostAsync($"/images/{ImagePath(a.Positional[0])}/tag{q}", ct: ct);
        return 0;
    }

    private async Task<int> Rmi(List<string> argv, CancellationToken ct)
    {
        var a = new Args("rmi", argv, ["force|f", "no-prune"], []);
        a.Require(1, int.MaxValue, "[OPTIONS] IMAGE [IMAGE...]");
        var c = await ClientAsync(ct);
        string q = DockerClient.Query(("force", a.Flag("force") ? "1" : null), ("noprune", a.Flag("no-prune") ? "1" : null));
        return await ForEach(a.Positional, async name =>
        {
            using var r = await c.SendAsync(HttpMethod.Delete, $"/images/{ImagePath(name)}{q}", ct: ct);
            using var doc = JsonDocument.Parse(await r.Content.ReadAsByteArrayAsync(ct));
            if (doc.RootElement.ValueKind == JsonValueKind.Array)
                foreach (var e in doc.RootElement.EnumerateArray())
                {
                    if (Str(e, "Untagged") is { Length: > 0 } u) Out.WriteLine($"Untagged: {u}");
                    if (Str(e, "Deleted") is { Length: > 0 } d) Out.WriteLine($"Deleted: {d}");
                }
        }, echo: false);
    }

    private async Task<int> Save(List<string> argv, CancellationToken ct)
    {
        var a = new Args("save", argv, [], ["output|o", "platform"]);
        a.Require(1, int.MaxValue, "[OPTIONS] IMAGE [IMAGE...]");
        string q = string.Concat(a.Positional.Select((n, i) => (i == 0 ? "?" : "&") + "names=" + Esc(n)));
        if (a.Value("platform") is { } p) q += "&platform=" + Esc(p);
        return await Download("/images/get" + q, a.Value("output"), ct);
    }

    private async Task<int> Load(List<string> argv, CancellationToken ct)
    {
        var a = new Args("load", argv, ["quiet|q"], ["input|i", "platform"]);
        a.Require(0, 0, "[OPTIONS]");
        string? input = a.Value("input");
        if (input is null && !Console.IsInputRedirected) throw new CliException("requested load from stdin, but stdin is empty");
        Stream source;
        try { source = input is null ? Console.OpenStandardInput() : new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new CliException($"open {input}: no such file or directory"); }
        await using var _ = source;
        var c = await ClientAsync(ct);
        var content = new StreamContent(source, 1 << 16);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
        bool quiet = a.Flag("quiet") || Console.IsOutputRedirected;
        using var r = await c.SendAsync(HttpMethod.Post, "/images/load" + (quiet ? "?quiet=1" : ""), content, streaming: true, ct: ct);
        await using var body = await r.Content.ReadAsStreamAsync(ct);
        await foreach (var e in DockerClient.ReadJsonLines(body, ct))
        {
            if (Str(e, "error") is { Length: > 0 } error) throw new CliException(OneLine(error));
            if (Str(e, "stream") is { Length: > 0 } s) Out.Write(s);
            else if (Str(e, "status") is { Length: > 0 } st && !a.Flag("quiet")) Out.WriteLine(st);
        }
        return 0;
    }

    private async Task<int> History(List<string> argv, CancellationToken ct)
    {
        var a = new Args("history", argv, ["quiet|q", "no-trunc", "human|H"], ["format", "platform"]);
        a.Require(1, 1, "[OPTIONS] IMAGE");
        var c = await ClientAsync(ct);
        using var doc = await c.GetJsonAsync($"/images/{ImagePath(a.Positional[0])}/history", ct);
        bool trunc = !a.Flag("no-trunc");
        var rows = new List<JsonElement>();
        foreach (var h in doc.RootElement.EnumerateArray())
        {
            string id = Str(h, "Id");
            string shown = id is "<missing>" or "" ? "<missing>" : trunc ? ShortId(id) : id;
            string by = Str(h, "CreatedBy").Replace("\t", " ");
            if (trunc && by.Length > 45) by = by[..44] + "…";
            var created = DateTimeOffset.FromUnixTimeSeconds(Num(h, "Created"));
            rows.Add(Row([
                ("ID", shown), ("CreatedSince", Formatting.Since(created)),
                ("CreatedAt", created.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
                ("CreatedBy", by), ("Size", Formatting.Size(Num(h, "Size"))), ("Comment", Str(h, "Comment")),
            ]));
        }
        if (a.Flag("quiet") && a.Value("format") is null) { foreach (var r in rows) Out.WriteLine(Str(r, "ID")); return 0; }
        var headers = new Dictionary<string, string> { ["ID"] = "IMAGE", ["CreatedSince"] = "CREATED", ["CreatedAt"] = "CREATED AT", ["CreatedBy"] = "CREATED BY", ["Size"] = "SIZE", ["Comment"] = "COMMENT" };
        Out.Write(GoTemplate.RenderLines(a.Value("format") ?? "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", rows, headers));
        return 0;
    }

    private async Task<int> Import(List<string> argv, CancellationToken ct)
    {
        var a = new Args("import", argv, [], ["change|c", "message|m", "platform"]);
        a.Require(1, 2, "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]");
        string src = a.Positional[0];
        string q = DockerClient.Query(("fromSrc", src.StartsWith("http://") || src.StartsWith("https://") ? src : "-"),
            ("repo", a.Positional.Count > 1 ? a.Positional[1] : null), ("message", a.Value("message")), ("platform", a.Value("platform")));
        foreach (var ch in a.Values("change")) q += "&changes=" + Esc(ch);
        Stream? source = null;
        if (!src.StartsWith("http://") && !src.StartsWith("https://"))
        {
            try { source = src == "-" ? Console.OpenStandardInput() : new FileStream(src, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new CliException($"open {src}: no such file or directory"); }
        }
        await using var _ = source;
        var c = await ClientAsync(ct);
        HttpContent? content = source is null ? null : new StreamContent(source, 1 << 16);
        if (content is not null) content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        using var r = await c.SendAsync(HttpMethod.Post, "/images/create" + q, content, streaming: true, ct: ct);
        await using var body = await r.Content.ReadAsStreamAsync(ct);
        await foreach (var e in DockerClient.ReadJsonLines(body, ct))
        {
            if (Str(e, "error") is { Length: > 0 } error) throw new CliException(OneLine(error));
            if (Str(e, "status") is { Length: > 0 } st) Out.WriteLine(st);
        }
        return 0;
    }
}
