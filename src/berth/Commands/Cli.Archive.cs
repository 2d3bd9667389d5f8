using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Berth.Cli.Client;

namespace Berth.Cli.Commands;

// cp, diff, commit, export: a container's filesystem through /archive, /changes, /commit and /export.
public sealed partial class EngineCommands
{
    private async Task<int> Cp(List<string> argv, CancellationToken ct)
    {
        var a = new Args("cp", argv, ["archive|a", "follow-link|L", "quiet|q"], []);
        a.Require(2, 2, "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH");
        var (srcContainer, srcPath) = SplitCopyPath(a.Positional[0]);
        var (dstContainer, dstPath) = SplitCopyPath(a.Positional[1]);
        if (srcContainer is null == dstContainer is null)
            throw new CliException(srcContainer is null ? "must specify at least one container source" : "copying between containers is not supported");
        var c = await ClientAsync(ct);
        if (srcContainer is not null) return await CopyFrom(c, srcContainer, srcPath, dstPath, ct);
        return await CopyTo(c, srcPath, dstContainer!, dstPath, ct);
    }

    private static (string? Container, string Path) SplitCopyPath(string arg)
    {
        if (arg.StartsWith('/') || arg.StartsWith('.') || arg == "-") return (null, arg);
        int colon = arg.IndexOf(':');
        return colon > 0 ? (arg[..colon], arg[(colon + 1)..]) : (null, arg);
    }

    private async Task<int> CopyFrom(DockerClient c, string container, string src, string dst, CancellationToken ct)
    {
        if (!src.StartsWith('/')) src = "/" + src;
        using var r = await c.SendAsync(HttpMethod.Get, $"/containers/{Esc(container)}/archive?path={Esc(src)}", streaming: true, ct: ct);
        await using var tar = await r.Content.ReadAsStreamAsync(ct);
        if (dst == "-") { Out.Flush(); await tar.CopyToAsync(_stdout, ct); return 0; }
        string srcBase = Path.GetFileName(src.TrimEnd('/'));
        string target;
        string? rename = null;
        if (Directory.Exists(dst)) target = dst;
        else
        {
            string parent = Path.GetDirectoryName(Path.GetFullPath(dst)) ?? "/";
            if (!Directory.Exists(parent)) throw new CliException($"destination directory \"{parent}\" must exist");
            target = parent;
            rename = Path.GetFileName(Path.GetFullPath(dst));
        }
        await Extract(tar, target, srcBase, rename, ct);
        return 0;
    }

    /// <summary>Unpacks a tar below <paramref name="root"/>, renaming its top entry when asked; no entry may leave the root.</summary>
    private static async Task Extract(Stream tar, string root, string top, string? rename, CancellationToken ct)
    {
        string rootFull = Path.GetFullPath(root).TrimEnd('/') + "/";
        await using var reader = new TarReader(tar);
        while (await reader.GetNextEntryAsync(copyData: false, ct) is { } e)
        {
            string name = e.Name.TrimStart('/').TrimEnd('/');
            if (name.Length == 0) continue;
            if (rename is not null && (name == top || name.StartsWith(top + "/", StringComparison.Ordinal))) name = rename + name[top.Length..];
            string path = Path.GetFullPath(Path.Combine(rootFull, name));
            if (!path.StartsWith(rootFull, StringComparison.Ordinal)) throw new CliException($"refusing to write {e.Name} outside {root}");
            switch (e.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(path);
                    break;
                case TarEntryType.SymbolicLink:
                    if (File.Exists(path) || Directory.Exists(path)) File.Delete(path);
                    File.CreateSymbolicLink(path, e.LinkName);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await using (var f = new FileStream(path, FileMode.Create, FileAccess.Write))
                        if (e.DataStream is not null) await e.DataStream.CopyToAsync(f, ct);
                    File.SetUnixFileMode(path, (UnixFileMode)((int)e.Mode & 0xfff));
                    File.SetLastWriteTimeUtc(path, e.ModificationTime.UtcDateTime);
                    break;
                case TarEntryType.HardLink:
                    string linkTarget = Path.GetFullPath(Path.Combine(rootFull, e.LinkName.TrimStart('/')));
                    if (linkTarget.StartsWith(rootFull, StringComparison.Ordinal) && File.Exists(linkTarget)) File.Copy(linkTarget, path, overwrite: true);
                    break;
            }
        }
    }

    private async Task<int> CopyTo(DockerClient c, string src, string container, string dst, CancellationToken ct)
    {
        if (!dst.StartsWith('/')) dst = "/" + dst;
        string n = Esc(container);
        if (src == "-")
        {
            using var stdin = Console.OpenStandardInput();
            await PutArchive(c, n, dst, new StreamContent(stdin), ct);
            return 0;
        }
        if (!File.Exists(src) && !Directory.Exists(src)) throw new CliException($"lstat {Path.GetFullPath(src)}: no such file or directory");
        // Where it goes: into DEST when DEST is a directory there, else DEST's parent under DEST's name.
        bool destIsDir = false;
        try
        {
            using var head = await c.SendAsync(HttpMethod.Head, $"/containers/{n}/archive?path={Esc(dst)}", ct: ct);
            if (head.Headers.TryGetValues("X-Docker-Container-Path-Stat", out var stats))
            {
                using var stat = JsonDocument.Parse(Convert.FromBase64String(stats.First()));
                destIsDir = (Num(stat.RootElement, "mode") & (1L << 31)) != 0;
            }
        }
        catch (DaemonException e) when (e.Status == 404) { }
        string entryName = Path.GetFileName(Path.GetFullPath(src).TrimEnd('/'));
        string putPath = dst;
        if (!destIsDir)
        {
            if (dst.EndsWith('/')) throw new CliException($"no such directory: {dst}");
            putPath = Path.GetDirectoryName(dst) ?? "/";
            entryName = Path.GetFileName(dst);
        }
        await PutArchive(c, n, putPath, new TarContent(Path.GetFullPath(src), entryName), ct);
        return 0;
    }

    /// <summary>A request body that is a tar of a host path, written while it is sent (chunked, never held in memory).</summary>
    private sealed class TarContent(string path, string entryName) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken ct)
        {
            await using var w = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true);
            await AddToTar(w, path, entryName, ct);
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private static async Task AddToTar(TarWriter w, string path, string name, CancellationToken ct)
    {
        await w.WriteEntryAsync(path, name, ct);
        if (Directory.Exists(path) && (File.GetAttributes(path) & FileAttributes.ReparsePoint) == 0)
            foreach (var child in Directory.EnumerateFileSystemEntries(path).Order(StringComparer.Ordinal))
                await AddToTar(w, child, name + "/" + Path.GetFileName(child), ct);
    }

    private static async Task PutArchive(DockerClient c, string container, string path, HttpContent tar, CancellationToken ct)
    {
        tar.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
        using var r = await c.SendAsync(HttpMethod.Put, $"/containers/{container}/archive?noOverwriteDirNonDir=true&path={Esc(path)}", tar, ct: ct);
    }

    private async Task<int> Diff(List<string> argv, CancellationToken ct)
    {
        var a = new Args("diff", argv, [], []);
        a.Require(1, 1, "CONTAINER");
        var c = await ClientAsync(ct);
        using var doc = await c.GetJsonAsync($"/containers/{Esc(a.Positional[0])}/changes", ct);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) return 0;
        foreach (var ch in doc.RootElement.EnumerateArray())
            Out.WriteLine($"{Num(ch, "Kind") switch { 0 => "C", 1 => "A", 2 => "D", _ => "?" }} {Str(ch, "Path")}");
        return 0;
    }

    private async Task<int> Commit(List<string> argv, CancellationToken ct)
    {
        var a = new Args("commit", argv, ["pause|p", "no-pause"], ["author|a", "change|c", "message|m"]);
        a.Require(1, 2, "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]");
        string? repo = null, tag = null;
        if (a.Positional.Count > 1)
        {
            if (!Berth.Images.References.ImageReference.TryParse(a.Positional[1], out var r, out var err)) throw new CliException(err ?? "invalid reference format");
            repo = r!.Name;
            tag = a.Positional[1].Contains(':') && a.Positional[1].LastIndexOf(':') > a.Positional[1].LastIndexOf('/') ? r.Tag : "";
        }
        var c = await ClientAsync(ct);
        var changes = a.Values("change");
        string q = DockerClient.Query(("author", a.Value("author") ?? ""), ("comment", a.Value("message") ?? ""), ("container", a.Positional[0]),
            ("pause", a.Flag("no-pause") ? "0" : null), ("repo", repo ?? ""), ("tag", tag ?? ""));
        foreach (var ch in changes) q += "&changes=" + Esc(ch);
        using var resp = await c.SendAsync(HttpMethod.Post, "/commit" + q, ct: ct);
        using var doc = JsonDocument.Parse(await resp.Content.ReadAsByteArrayAsync(ct));
        Out.WriteLine(Str(doc.RootElement, "Id"));
        return 0;
    }

    private async Task<int> Export(List<string> argv, CancellationToken ct)
    {
        var a = new Args("export", argv, [], ["output|o"]);
        a.Require(1, 1, "[OPTIONS] CONTAINER");
        return await Download($"/containers/{Esc(a.Positional[0])}/export", a.Value("output"), ct);
    }

    /// <summary>Streams a tar answer to -o FILE or to stdout (never to a terminal, like docker).</summary>
    private async Task<int> Download(string path, string? output, CancellationToken ct)
    {
        if (output is null && !Console.IsOutputRedirected) throw new CliException("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        var c = await ClientAsync(ct);
        using var r = await c.SendAsync(HttpMethod.Get, path, streaming: true, ct: ct);
        await using var body = await r.Content.ReadAsStreamAsync(ct);
        if (output is null) { Out.Flush(); await body.CopyToAsync(_stdout, ct); await _stdout.FlushAsync(ct); return 0; }
        string tmp = output + ".berth-tmp";
        try
        {
            await using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write)) await body.CopyToAsync(f, ct);
            File.Move(tmp, output, overwrite: true);
        }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
        return 0;
    }
}
