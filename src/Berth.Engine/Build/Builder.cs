using System.Text;
using System.Text.Json;
using Berth.Engine.Api;
using Berth.Engine.Containers;
using Berth.Images;
using Berth.Images.Archive;
using Berth.Images.Layers;
using Berth.Images.Service;
using Berth.Linux.Fs;
using Berth.Linux.Interop;
using ImageContainerConfig = Berth.Images.Models.ContainerConfig;

namespace Berth.Engine.Build;

/// <summary>What POST /build asks for.</summary>
public sealed record BuildRequest(string ContextDir, string DockerfileName, IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string?> BuildArgs, IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// docker's classic builder (POST /build, what `docker build` uses without BuildKit and what
/// docker-compose asks for). Each instruction runs in order on an image of the previous step:
/// RUN in a container started from it, COPY and ADD through a container's mounted root (so parent
/// directories keep the metadata they have in the image), both committed as a layer with the
/// builder's config; the other instructions only change that config. The intermediate images and
/// containers are removed at the end; the last image is tagged.
/// </summary>
public sealed class Builder(ContainerService cs, Action<string> say)
{
    private readonly ImageService _images = cs.Images;
    private string? _image;                 // the current image (null: FROM scratch, nothing yet)
    private ImageContainerConfig _config = new();
    private bool _configDirty;              // config changes not yet in an image
    private readonly List<string> _pendingHistory = []; // the instructions behind those changes
    private readonly List<string> _intermediate = [];
    private readonly Dictionary<string, string> _args = new();       // ARG values in scope
    private readonly Dictionary<string, string?> _declared = new();  // ARGs declared in this stage
    private List<string> _shell = ["/bin/sh", "-c"];
    private bool _started;                  // past the first FROM (ARGs before it are meta ARGs, for FROM only)
    private readonly Dictionary<string, string> _stages = new(StringComparer.OrdinalIgnoreCase); // finished stages: index and AS name -> image
    private int _stage = -1;
    private string? _alias;
    private string _work = Path.GetTempPath(); // the build's own folder (beside the context), for the copies' tars

    public async Task<string> BuildAsync(BuildRequest req)
    {
        var steps = Dockerfile.Parse(ReadDockerfile(req));
        _work = Path.GetDirectoryName(Path.GetFullPath(req.ContextDir))!;
        try
        {
            var meta = new Dictionary<string, string>();
            int n = 0;
            foreach (var s in steps)
            {
                n++;
                say($"Step {n}/{steps.Count} : {s.Original}\n");
                await RunStep(s, req, meta);
            }
            if (_image is null && !_configDirty) throw new BuildException("the Dockerfile made no image (FROM scratch with nothing after it)");
            if (_configDirty || _image is null || req.Labels.Count > 0)
            {
                foreach (var (k, v) in req.Labels) (_config.Labels ??= new())[k] = v;
                Commit(null, ConfigHistory());
            }
            string final = _image!;
            _intermediate.Remove(final);
            foreach (var t in req.Tags) _images.Tag(final, t);
            say($"Successfully built {Short(final)}\n");
            foreach (var t in req.Tags) say($"Successfully tagged {(t[(t.LastIndexOf('/') + 1)..].Contains(':') || t.Contains('@') ? t : t + ":latest")}\n");
            return final;
        }
        finally
        {
            foreach (var id in _intermediate)
            {
                try { _images.Remove(id, force: false); } catch (Exception) { } // in use or gone: it stays for prune
            }
        }
    }

    private static string Short(string id) => id.Replace("sha256:", "")[..12];

    private static string ReadDockerfile(BuildRequest req)
    {
        using var root = new RootedPath(req.ContextDir);
        int fd = root.TryOpen(req.DockerfileName);
        if (fd < 0) throw new BuildException($"Cannot locate specified Dockerfile: {req.DockerfileName}");
        try { return File.ReadAllText(RootedPath.FdPath(fd)); }
        catch (UnauthorizedAccessException) { throw new BuildException($"Cannot read the Dockerfile {req.DockerfileName}"); }
        finally { LibC.close(fd); }
    }

    private IReadOnlyDictionary<string, string> Vars()
    {
        var v = new Dictionary<string, string>(_args);
        foreach (var e in _config.Env ?? []) { var kv = e.Split('=', 2); if (kv.Length == 2) v[kv[0]] = kv[1]; }
        return v;
    }

    private string Text(Instruction s) => Dockerfile.Expand(s.Args[0], Vars());

    private async Task RunStep(Instruction s, BuildRequest req, Dictionary<string, string> meta)
    {
        if (s.Keyword is not ("FROM" or "RUN" or "COPY" or "ADD" or "ARG")) _pendingHistory.Add(s.Original);
        switch (s.Keyword)
        {
            case "ARG":
                foreach (var w in Dockerfile.Words(Text(s)))
                {
                    var kv = w.Split('=', 2);
                    string name = kv[0];
                    string? value = req.BuildArgs.TryGetValue(name, out var given) && given is not null ? given : kv.Length == 2 ? kv[1] : null;
                    if (!_started) { if (value is not null) meta[name] = value; continue; } // a meta ARG: for FROM only
                    if (value is null && meta.TryGetValue(name, out var m)) value = m;       // redeclared in the stage
                    _declared[name] = value;
                    if (value is not null) _args[name] = value;
                }
                break;
            case "FROM":
                await From(s, req, meta);
                break;
            case "RUN":
                await Run(s);
                break;
            case "COPY":
            case "ADD":
                await Copy(s, req);
                break;
            case "WORKDIR":
                string dir = Text(s);
                _config.WorkingDir = dir.StartsWith('/') ? dir : Path.Combine(_config.WorkingDir ?? "/", dir);
                _configDirty = true;
                break;
            case "SHELL":
                if (!s.Json) throw new BuildException($"Dockerfile line {s.Line}: SHELL requires the JSON form: SHELL [\"executable\", \"parameters\"]");
                _shell = s.Args.ToList();
                _config.Shell = _shell;
                _configDirty = true;
                break;
            case "MAINTAINER":
                _configDirty = true;
                break;
            case "HEALTHCHECK":
                RequireImage(s);
                _config.Healthcheck = Healthcheck(s);
                _configDirty = true;
                break;
            case "ONBUILD":
                RequireImage(s);
                string trigger = s.Args[0].Trim();
                string first = trigger.Split(' ', 2)[0].ToUpperInvariant();
                if (first is "ONBUILD" or "FROM" or "MAINTAINER") throw new BuildException($"Dockerfile line {s.Line}: {first} isn't allowed as an ONBUILD trigger");
                Dockerfile.ParseInstruction(s.Line, trigger); // a bad trigger fails here, not in the image that uses it
                (_config.OnBuild ??= []).Add(trigger);
                _configDirty = true;
                break;
            case "CMD":
            case "ENTRYPOINT":
                ApplyChange(s, s.Json ? $"{s.Keyword} {JsonSerializer.Serialize(s.Args, EngineJsonContext.Default.ListString)}" : $"{s.Keyword} {s.Args[0]}");
                if (!s.Json && _shell is not ["/bin/sh", "-c"])
                {
                    var cmd = _shell.Append(s.Args[0]).ToList();
                    if (s.Keyword == "CMD") _config.Cmd = cmd; else _config.Entrypoint = cmd;
                }
                break;
            default: // ENV, LABEL, EXPOSE, USER, VOLUME, STOPSIGNAL: the config only
                ApplyChange(s, $"{s.Keyword} {(s.Json ? JsonSerializer.Serialize(s.Args, EngineJsonContext.Default.ListString) : Text(s))}");
                break;
        }
    }

    private void RequireImage(Instruction s)
    {
        if (!_started) throw new BuildException($"Dockerfile line {s.Line}: {s.Keyword} before FROM");
    }

    /// <summary>HEALTHCHECK [--interval=D --timeout=D --start-period=D --start-interval=D --retries=N] CMD command | NONE.</summary>
    private static Berth.Images.Models.ImageHealthcheck Healthcheck(Instruction s)
    {
        string rest = s.Args[0].Trim();
        string word = rest.Split([' ', '\t'], 2)[0].ToUpperInvariant();
        if (word == "NONE") return new() { Test = ["NONE"] };
        if (word != "CMD") throw new BuildException($"Dockerfile line {s.Line}: HEALTHCHECK takes CMD command or NONE");
        string cmd = rest[3..].Trim();
        if (cmd.Length == 0) throw new BuildException($"Dockerfile line {s.Line}: HEALTHCHECK CMD needs a command");
        List<string> test;
        try
        {
            test = cmd.StartsWith('[') && JsonSerializer.Deserialize(cmd, EngineJsonContext.Default.ListString) is { Count: > 0 } exec
                ? ["CMD", .. exec] : ["CMD-SHELL", cmd];
        }
        catch (JsonException) { test = ["CMD-SHELL", cmd]; }
        long? Duration(string flag)
        {
            if (!s.Flags.TryGetValue(flag, out var v)) return null;
            if (!ContainerService.TryParseGoDuration(v, out var d) || d < TimeSpan.Zero)
                throw new BuildException($"Dockerfile line {s.Line}: HEALTHCHECK --{flag}={v}: not a duration (30s, 1m30s)");
            return d.Ticks * 100;
        }
        int? retries = null;
        if (s.Flags.TryGetValue("retries", out var r))
            retries = int.TryParse(r, out var n) && n >= 0 ? n : throw new BuildException($"Dockerfile line {s.Line}: HEALTHCHECK --retries={r}: not a count");
        foreach (var f in s.Flags.Keys)
            if (f is not ("interval" or "timeout" or "start-period" or "start-interval" or "retries"))
                throw new BuildException($"Dockerfile line {s.Line}: HEALTHCHECK has no flag --{f}");
        return new() { Test = test, Interval = Duration("interval"), Timeout = Duration("timeout"), StartPeriod = Duration("start-period"), StartInterval = Duration("start-interval"), Retries = retries };
    }

    private void ApplyChange(Instruction s, string change)
    {
        RequireImage(s);
        try { ChangeInstructions.Apply(_config, change); }
        catch (ImageException e) { throw new BuildException($"Dockerfile line {s.Line}: {e.Message.Replace("--change", s.Keyword)}"); }
        _configDirty = true;
    }

    private async Task From(Instruction s, BuildRequest req, Dictionary<string, string> meta)
    {
        if (_started) FinishStage();
        _started = true;
        _stage++;
        var words = Dockerfile.Words(Dockerfile.Expand(s.Args[0], meta));
        if (words.Count is not (1 or 3) || words.Count == 3 && !words[1].Equals("AS", StringComparison.OrdinalIgnoreCase))
            throw new BuildException($"Dockerfile line {s.Line}: FROM takes an image and optionally AS NAME");
        _alias = words.Count == 3 ? words[2] : null;
        string image = words[0];
        if (image == "scratch") { _image = null; _config = new(); return; }
        if (_stages.TryGetValue(image, out var earlier))
        {
            _image = earlier;
            _config = _images.GetConfig(earlier).Config ?? new();
            say($" ---> {Short(_image)}\n");
            return;
        }
        try
        {
            var rec = _images.Resolve(image);
            _image = rec.Id;
            _config = _images.GetConfig(rec.Id).Config ?? new();
        }
        catch (ImageException)
        {
            say($"Pulling {image}\n");
            try
            {
                await _images.PullAsync(image, null, null, CancellationToken.None);
                var rec = _images.Resolve(image);
                _image = rec.Id;
                _config = _images.GetConfig(rec.Id).Config ?? new();
            }
            catch (ImageException e)
            {
                throw new BuildException($"pull access denied for {image}, repository does not exist or may require 'docker login': {e.Message}");
            }
        }
        say($" ---> {Short(_image)}\n");
        await RunTriggers(s, req, meta);
    }

    /// <summary>The base image's ONBUILD triggers, run right after its FROM (and not passed on further).</summary>
    private async Task RunTriggers(Instruction from, BuildRequest req, Dictionary<string, string> meta)
    {
        if (_config.OnBuild is not { Count: > 0 } triggers) return;
        _config.OnBuild = null;
        _configDirty = true;
        say($"# Executing {triggers.Count} build trigger{(triggers.Count == 1 ? "" : "s")}\n");
        foreach (var t in triggers) await RunStep(Dockerfile.ParseInstruction(from.Line, t), req, meta);
    }

    /// <summary>A FROM after the first: the stage so far becomes an image others can name, and a new one begins.</summary>
    private void FinishStage()
    {
        string done = CurrentImage();
        _stages[_stage.ToString(System.Globalization.CultureInfo.InvariantCulture)] = done;
        if (_alias is not null) _stages[_alias] = done;
        _image = null;
        _config = new();
        _configDirty = false;
        _pendingHistory.Clear();
        _declared.Clear();
        _args.Clear();
        _shell = ["/bin/sh", "-c"];
    }

    /// <summary>The current config as an image (if it changed), so a container can be made from it.</summary>
    private string CurrentImage()
    {
        // FROM scratch: an image of no layers, so COPY has a root to write into.
        if (_configDirty || _image is null) Commit(null, ConfigHistory());
        return _image!;
    }

    private string ConfigHistory() => "/bin/sh -c #(nop) " + (_pendingHistory.Count > 0 ? string.Join(" ; ", _pendingHistory) : "FROM scratch");

    /// <summary>The step container's upper layer as the next image, with the builder's config.</summary>
    private void CommitStep(Container c, string createdBy)
    {
        string upper = _images.Snapshots.MountsOf(c.Id).UpperDir!;
        Commit(w => ContainerService.WriteDiffLayer(upper, w), createdBy);
        say($" ---> {Short(_image!)}\n");
    }

    private void Commit(Action<Stream>? layer, string createdBy)
    {
        _pendingHistory.Clear();
        var cfg = Clone(_config);
        string id = _images.CommitImage(new CommitRequest(_image, cfg, null, null, createdBy, null), layer);
        _image = id;
        _intermediate.Add(id);
        _configDirty = false;
    }

    private static ImageContainerConfig Clone(ImageContainerConfig c) =>
        JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(c, Berth.Images.Models.ImagesJsonContext.Default.ContainerConfig), Berth.Images.Models.ImagesJsonContext.Default.ContainerConfig)!;

    /// <summary>A container of the current image for one step (RUN runs it; COPY writes into its root).</summary>
    private Container StepContainer(List<string> cmd, bool withArgs)
    {
        var image = CurrentImage();
        var env = withArgs ? _declared.Where(a => a.Value is not null && !(_config.Env ?? []).Any(e => e.StartsWith(a.Key + "=", StringComparison.Ordinal)))
            .Select(a => $"{a.Key}={a.Value}").ToList() : [];
        var create = new CreateRequest
        {
            Image = image,
            Cmd = cmd,
            Entrypoint = [],
            Env = env,
            WorkingDir = _config.WorkingDir ?? "",
            User = _config.User ?? "",
            HostConfig = new HostConfig { NetworkMode = "bridge" },
        };
        return cs.Create(create, null);
    }

    private async Task Run(Instruction s)
    {
        var cmd = s.Json ? s.Args.ToList() : _shell.Append(s.Args[0]).ToList();
        var c = StepContainer(cmd, withArgs: true);
        try
        {
            say($" ---> Running in {c.ShortId}\n");
            var exited = c.ExitSignal.Task;
            await cs.StartAsync(c);
            long pos = 0;
            while (!exited.IsCompleted)
            {
                await Task.WhenAny(exited, Task.Delay(100));
                pos = Relay(c.R.LogPath, pos);
            }
            Relay(c.R.LogPath, pos);
            int code = await exited;
            if (code != 0) throw new BuildException($"The command '{string.Join(' ', cmd)}' returned a non-zero code: {code}");
            CommitStep(c, s.Json ? JsonSerializer.Serialize(cmd, EngineJsonContext.Default.ListString) : string.Join(' ', cmd));
        }
        finally { await cs.RemoveAsync(c, force: true, volumes: true); }
    }

    /// <summary>Passes on what the step's container wrote to its json-file log since <paramref name="pos"/>.</summary>
    private long Relay(string logPath, long pos)
    {
        if (logPath == "" || !File.Exists(logPath)) return pos;
        using var f = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (f.Length <= pos) return pos;
        f.Position = pos;
        var bytes = new byte[f.Length - pos];
        f.ReadExactly(bytes);
        int end = Array.LastIndexOf(bytes, (byte)'\n');
        if (end < 0) return pos;
        foreach (var line in Encoding.UTF8.GetString(bytes, 0, end + 1).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                var l = JsonSerializer.Deserialize(line, EngineJsonContext.Default.JsonLogLine);
                if (l is not null) say(l.Log);
            }
            catch (JsonException) { }
        }
        return pos + end + 1;
    }

    private async Task Copy(Instruction s, BuildRequest req)
    {
        var words = s.Json ? s.Args.Select(a => Dockerfile.Expand(a, Vars())).ToList() : Dockerfile.Words(Text(s));
        if (words.Count < 2) throw new BuildException($"Dockerfile line {s.Line}: {s.Keyword} requires at least two arguments: a source and a destination");
        var owner = s.Flags.TryGetValue("chown", out var chown) ? ParseOwner(chown, s.Line) : (0u, 0u);
        string dest = words[^1];
        // "dir/", "." and "dir/." name a directory, as docker's builder reads them.
        bool destIsDir = dest.EndsWith('/') || dest == "." || dest.EndsWith("/.", StringComparison.Ordinal);
        if (!dest.StartsWith('/')) dest = Path.Combine(_config.WorkingDir ?? "/", dest);
        dest = "/" + SnapshotPath.Clean(dest);
        // --from=STAGE|IMAGE: the sources come from that image's root, mounted through a container of it.
        Container? fromContainer = null;
        ContainerService.ContainerRoot? fromRoot = null;
        if (s.Flags.TryGetValue("from", out var from))
        {
            if (s.Keyword == "ADD") throw new BuildException($"Dockerfile line {s.Line}: ADD does not take --from (use COPY --from)");
            string image = _stages.TryGetValue(from, out var st) ? st : ResolveOrThrow(from, s.Line);
            fromContainer = cs.Create(new CreateRequest { Image = image, Cmd = ["true"], Entrypoint = [], HostConfig = new HostConfig { NetworkMode = "none" } }, null);
        }
        using var context = fromContainer is null ? new RootedPath(req.ContextDir) : null;
        try
        {
            if (fromContainer is not null) fromRoot = await cs.OpenRootAsync(fromContainer, processView: false);
            await CopyFrom(s, words, dest, destIsDir, owner, fromRoot?.Root ?? context!, fromRoot is null ? "build context" : $"stage {from}");
        }
        finally
        {
            fromRoot?.Dispose();
            if (fromContainer is not null) await cs.RemoveAsync(fromContainer, force: true, volumes: true);
        }
    }

    private string ResolveOrThrow(string image, int line)
    {
        try { return _images.Resolve(image).Id; }
        catch (ImageException) { throw new BuildException($"Dockerfile line {line}: COPY --from={image}: no build stage and no local image of that name"); }
    }

    private async Task CopyFrom(Instruction s, List<string> words, string dest, bool destIsDir, (uint, uint) owner, RootedPath ctx, string where)
    {
        var sources = new List<string>();
        foreach (var src in words.Take(words.Count - 1))
        {
            if (src.Contains("://")) throw new BuildException($"Dockerfile line {s.Line}: {s.Keyword} from a URL ({src}) is not supported by berthd's builder (no network access here)");
            var found = Glob(ctx, src);
            if (found.Count == 0) throw new BuildException($"COPY failed: file not found in {where} or excluded by .dockerignore: stat {src}: file does not exist");
            sources.AddRange(found);
        }
        var c = StepContainer(["true"], withArgs: false);
        try
        {
            using (var root = await cs.OpenRootAsync(c, processView: false))
            {
                bool many = sources.Count > 1 || destIsDir;
                foreach (var rel in sources)
                {
                    // Sources are opened inside the context: a symlink there cannot lead the copy to the host's files.
                    int probeDir = ctx.TryOpen(rel, O.DIRECTORY);
                    bool isDir = probeDir >= 0;
                    if (isDir) LibC.close(probeDir);
                    if (s.Keyword == "ADD" && !isDir && OpenInContext(ctx, rel) is { } archive)
                    {
                        if (IsTar(archive)) { Extract(root.Root, dest, owner, archive, keepOwners: true); continue; }
                        archive.Dispose();
                    }
                    string targetDir, name;
                    if (isDir || many) (targetDir, name) = (dest, Path.GetFileName(rel));
                    else
                    {
                        int probe = root.Root.TryOpen(dest, O.DIRECTORY);
                        if (probe >= 0) { LibC.close(probe); (targetDir, name) = (dest, Path.GetFileName(rel)); }
                        else (targetDir, name) = (Path.GetDirectoryName(dest.TrimEnd('/')) ?? "/", Path.GetFileName(dest.TrimEnd('/')));
                    }
                    string tar = Path.Combine(_work, $"copy-{Guid.NewGuid():N}.tar");
                    try
                    {
                        using (var f = File.Create(tar)) WriteSourceTar(ctx, rel, isDir ? null : name, f);
                        Extract(root.Root, targetDir, owner, File.OpenRead(tar), keepOwners: false);
                    }
                    finally { File.Delete(tar); }
                }
            }
            CommitStep(c, $"/bin/sh -c #(nop) {s.Keyword} {string.Join(' ', words)}");
        }
        finally { await cs.RemoveAsync(c, force: true, volumes: true); }
    }

    /// <summary>A tar of one context entry: a file under <paramref name="name"/>, or a directory's contents at the top.</summary>
    private static void WriteSourceTar(RootedPath ctx, string rel, string? name, Stream output)
    {
        var w = new TarStreamWriter(output);
        string parent = Path.GetDirectoryName(rel) ?? "";
        int pfd = ctx.TryOpen(parent == "" ? "." : parent, O.DIRECTORY);
        if (pfd < 0) throw new BuildException($"COPY failed: cannot open {parent} in the build context");
        try
        {
            if (name is null)
            {
                int dfd = ctx.TryOpen(rel, O.DIRECTORY);
                if (dfd < 0) throw new BuildException($"COPY failed: cannot open {rel} in the build context");
                try { TreeTar.WriteDirectory(w, dfd, "", new TreeTarOptions(), includeSelf: false); }
                finally { LibC.close(dfd); }
            }
            else TreeTar.WriteEntry(w, pfd, Path.GetFileName(rel), name, new TreeTarOptions());
        }
        finally { LibC.close(pfd); }
        w.Finish();
    }

    /// <summary>Extracts a tar into DIR of the container's root (made if missing), confined to it.</summary>
    private static void Extract(RootedPath root, string dir, (uint Uid, uint Gid) owner, Stream tar, bool keepOwners)
    {
        using (tar)
        {
            int fd = root.OpenOrCreate(dir, directory: true);
            try
            {
                Stream input = tar;
                var head = new byte[2];
                if (tar.Read(head, 0, 2) == 2 && head[0] == 0x1f && head[1] == 0x8b)
                {
                    tar.Position = 0;
                    input = new System.IO.Compression.GZipStream(tar, System.IO.Compression.CompressionMode.Decompress);
                }
                else tar.Position = 0;
                var x = new LayerExtractor(RootedPath.FdPath(fd), WhiteoutMode.None) { Owner = keepOwners && owner == (0u, 0u) ? null : owner };
                x.Extract(input);
            }
            catch (ImageException e) { throw new BuildException($"COPY failed: {e.Message}"); }
            finally { LibC.close(fd); }
        }
    }

    /// <summary>A regular file of the context, opened for reading through the rooted lookup; null if it is none.</summary>
    private static FileStream? OpenInContext(RootedPath ctx, string rel)
    {
        int fd = ctx.TryOpen(rel);
        if (fd < 0) return null;
        try { return File.GetAttributes(RootedPath.FdPath(fd)).HasFlag(FileAttributes.Directory) ? null : File.OpenRead(RootedPath.FdPath(fd)); }
        catch (IOException) { return null; }
        finally { LibC.close(fd); }
    }

    /// <summary>ADD unpacks a local tar (plain or gzip); the stream is left at its start.</summary>
    private static bool IsTar(FileStream f)
    {
        var b = new byte[512];
        int n = f.Read(b, 0, 512);
        f.Position = 0;
        if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return true;
        return n >= 262 && Encoding.ASCII.GetString(b, 257, 5) == "ustar";
    }

    private static (uint, uint) ParseOwner(string spec, int line)
    {
        var parts = spec.Split(':', 2);
        static uint? Id(string s) => s == "root" ? 0 : uint.TryParse(s, out var v) ? v : null;
        uint? uid = Id(parts[0]), gid = parts.Length == 2 ? Id(parts[1]) : uid;
        if (uid is null || gid is null) throw new BuildException($"Dockerfile line {line}: --chown={spec}: berthd's builder takes numeric ids (or root)");
        return (uid.Value, gid.Value);
    }

    /// <summary>Context entries matching a source: a plain path, or * and ? in its last component.</summary>
    private static List<string> Glob(RootedPath ctx, string src)
    {
        string clean = SnapshotPath.Clean(src);
        if (clean.Length == 0) return ["."];
        string name = Path.GetFileName(clean), dir = Path.GetDirectoryName(clean) ?? "";
        if (!name.Contains('*') && !name.Contains('?'))
        {
            int fd = ctx.TryOpen(clean);
            if (fd < 0) return [];
            LibC.close(fd);
            return [clean];
        }
        // The directory is opened inside the root first: a symlink on the way cannot list a host directory.
        int dfd = ctx.TryOpen(dir == "" ? "." : dir, O.DIRECTORY);
        if (dfd < 0) return [];
        try
        {
            return Directory.EnumerateFileSystemEntries(RootedPath.FdPath(dfd), name)
                .Select(p => dir == "" ? Path.GetFileName(p) : dir + "/" + Path.GetFileName(p)).OrderBy(p => p, StringComparer.Ordinal).ToList();
        }
        finally { LibC.close(dfd); }
    }
}
