using Berth.Images;
using Berth.Images.References;
using Berth.Images.Registry;
using Berth.Images.Service;

namespace Berth.Cli;

/// <summary>The image commands: parse arguments, call <see cref="IImageService"/>, print docker's output.</summary>
public sealed class ImageCommands
{
    private readonly Func<IImageService> _open;
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private IImageService? _service;

    public ImageCommands(Func<IImageService> open, TextWriter stdout, TextWriter stderr)
    {
        _open = open;
        _out = stdout;
        _err = stderr;
    }

    private IImageService S => _service ??= _open();

    public async Task<int> RunAsync(string command, List<string> argv, CancellationToken ct)
    {
        try
        {
            if (command == "image")
            {
                if (argv.Count == 0) throw new UsageException("\"berth image\" needs a subcommand: ls, pull, push, tag, rm, inspect, history, save, load, import, prune");
                command = argv[0] switch { "ls" or "list" => "images", "rm" or "remove" => "rmi", "prune" => "image-prune", var c => c };
                argv = argv.Skip(1).ToList();
            }
            return command switch
            {
                "pull" => await Pull(argv, ct),
                "push" => await Push(argv, ct),
                "images" => Images(argv),
                "tag" => Tag(argv),
                "rmi" => Rmi(argv),
                "inspect" => Inspect(argv),
                "history" => History(argv),
                "save" => Save(argv),
                "load" => Load(argv),
                "import" => Import(argv),
                "image-prune" => Prune(argv),
                "login" => await Login(argv, ct),
                "logout" => Logout(argv),
                _ => throw new UsageException($"'{command}' is not a berth command. See 'berth --help'"),
            };
        }
        finally
        {
            (_service as IDisposable)?.Dispose();
        }
    }

    private async Task<int> Pull(List<string> argv, CancellationToken ct)
    {
        var a = new Args("pull", argv, ["quiet|q", "all-tags|a", "disable-content-trust"], ["platform"]);
        a.Require(1, 1, "[OPTIONS] NAME[:TAG|@DIGEST]");
        if (a.Flag("all-tags")) throw new UsageException("--all-tags is not supported yet");
        var r = ImageReference.Parse(a.Positional[0]);
        if (!a.Flag("quiet") && r.Tag is not null && r.Digest is null && !a.Positional[0].Contains(':'))
            _out.WriteLine($"Using default tag: {ImageReference.DefaultTag}");
        await S.PullAsync(a.Positional[0], a.Value("platform"), new ProgressPrinter(_out, a.Flag("quiet")), ct);
        _out.WriteLine(r.ToString());
        return 0;
    }

    private async Task<int> Push(List<string> argv, CancellationToken ct)
    {
        var a = new Args("push", argv, ["quiet|q", "all-tags|a", "disable-content-trust"], []);
        a.Require(1, 1, "[OPTIONS] NAME[:TAG]");
        await S.PushAsync(a.Positional[0], new ProgressPrinter(_out, a.Flag("quiet")), ct);
        if (a.Flag("quiet")) _out.WriteLine(ImageReference.Parse(a.Positional[0]).ToString());
        return 0;
    }

    private int Images(List<string> argv)
    {
        var a = new Args("images", argv, ["quiet|q", "all|a", "digests", "no-trunc"], ["filter|f", "format"]);
        a.Require(0, 1, "[OPTIONS] [REPOSITORY[:TAG]]");
        var filters = a.Values("filter").ToList();
        if (a.Positional.Count == 1) filters.Add("reference=" + a.Positional[0]);
        var rows = S.List(filters, a.Flag("all"));
        string Id(string id) => a.Flag("no-trunc") ? id : id.Replace("sha256:", "")[..12];
        if (a.Flag("quiet"))
        {
            foreach (var id in rows.Select(r => Id(r.Id)).Distinct()) _out.WriteLine(id);
            return 0;
        }
        if (a.Value("format") is { } format)
        {
            var items = rows.Select(r => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>
            {
                ["Repository"] = r.Repository, ["Tag"] = r.Tag, ["ID"] = Id(r.Id), ["Digest"] = r.Digest ?? "<none>",
                ["CreatedSince"] = Formatting.Since(r.Created), ["CreatedAt"] = r.Created.ToString("yyyy-MM-dd HH:mm:ss zz00") + " UTC",
                ["Size"] = Formatting.Size(r.Size),
            }).ToList();
            var headers = new Dictionary<string, string>
            {
                ["Repository"] = "REPOSITORY", ["Tag"] = "TAG", ["ID"] = "IMAGE ID", ["Digest"] = "DIGEST",
                ["CreatedSince"] = "CREATED", ["CreatedAt"] = "CREATED AT", ["Size"] = "SIZE",
            };
            _out.Write(Formatting.Template(format, items, headers));
            return 0;
        }
        var table = new List<string[]>();
        table.Add(a.Flag("digests") ? ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"] : ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]);
        foreach (var r in rows)
            table.Add(a.Flag("digests")
                ? [r.Repository, r.Tag, r.Digest ?? "<none>", Id(r.Id), Formatting.Since(r.Created), Formatting.Size(r.Size)]
                : [r.Repository, r.Tag, Id(r.Id), Formatting.Since(r.Created), Formatting.Size(r.Size)]);
        _out.Write(Formatting.Table(table));
        return 0;
    }

    private int Tag(List<string> argv)
    {
        var a = new Args("tag", argv, [], []);
        a.Require(2, 2, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]");
        S.Tag(a.Positional[0], a.Positional[1]);
        return 0;
    }

    private int Rmi(List<string> argv)
    {
        var a = new Args("rmi", argv, ["force|f", "no-prune"], []);
        a.Require(1, int.MaxValue, "[OPTIONS] IMAGE [IMAGE...]");
        int rc = 0;
        foreach (var name in a.Positional)
        {
            try
            {
                foreach (var line in S.Remove(name, a.Flag("force"))) _out.WriteLine(line);
            }
            catch (ImageException e)
            {
                _err.WriteLine($"Error: {e.Message}");
                rc = 1;
            }
        }
        return rc;
    }

    private int Inspect(List<string> argv)
    {
        var a = new Args("image inspect", argv, [], ["format|f"]);
        a.Require(1, int.MaxValue, "IMAGE [IMAGE...]");
        string json = S.Inspect(a.Positional);
        if (a.Value("format") is { } format)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            foreach (var image in doc.RootElement.EnumerateArray()) _out.WriteLine(GoTemplate.Render(format, image));
            return 0;
        }
        _out.WriteLine(json);
        return 0;
    }

    private int History(List<string> argv)
    {
        var a = new Args("history", argv, ["quiet|q", "no-trunc", "human|H"], ["format"]);
        a.Require(1, 1, "[OPTIONS] IMAGE");
        var rows = S.History(a.Positional[0]);
        bool full = a.Flag("no-trunc");
        string Id(string id) => id == "<missing>" || full ? id : id.Replace("sha256:", "")[..12];
        if (a.Flag("quiet")) { foreach (var r in rows) _out.WriteLine(Id(r.Id)); return 0; }
        var table = new List<string[]> { new[] { "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" } };
        foreach (var r in rows)
        {
            string by = r.CreatedBy;
            if (!full && by.Length > 45) by = by[..44] + "…";
            table.Add([Id(r.Id), r.Created is { } c ? Formatting.Since(c) : "N/A", by, Formatting.Size(r.Size), r.Comment]);
        }
        _out.Write(Formatting.Table(table));
        return 0;
    }

    private int Save(List<string> argv)
    {
        var a = new Args("save", argv, [], ["output|o", "format"]);
        a.Require(1, int.MaxValue, "[OPTIONS] IMAGE [IMAGE...]");
        var format = a.Value("format") switch
        {
            null or "docker" or "docker-archive" => ArchiveFormat.Docker,
            "oci" or "oci-archive" => ArchiveFormat.Oci,
            var f => throw new UsageException($"unknown save format \"{f}\" (docker, oci)"),
        };
        string? output = a.Value("output");
        if (output is null && !Console.IsOutputRedirected)
            throw new UsageException("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        if (output is null)
        {
            using var stdout = Console.OpenStandardOutput();
            S.Save(a.Positional, stdout, format);
            return 0;
        }
        // Written next to the target and renamed: a failed save leaves no partial archive behind.
        string temp = output + ".berth-tmp-" + Environment.ProcessId;
        try
        {
            using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write))
                S.Save(a.Positional, f, format);
            File.Move(temp, output, overwrite: true);
        }
        finally { if (File.Exists(temp)) File.Delete(temp); }
        return 0;
    }

    private int Load(List<string> argv)
    {
        var a = new Args("load", argv, ["quiet|q"], ["input|i"]);
        a.Require(0, 0, "[OPTIONS]");
        string? input = a.Value("input");
        if (input is null && !Console.IsInputRedirected)
            throw new UsageException("requested load from stdin, but stdin is empty");
        using var stream = input is null ? Console.OpenStandardInput() : OpenInput(input);
        foreach (var line in S.Load(stream)) if (!a.Flag("quiet") || line.StartsWith("Loaded image")) _out.WriteLine(line);
        return 0;
    }

    private static Stream OpenInput(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (FileNotFoundException) { throw new ImageException($"open {path}: no such file or directory"); }
        catch (DirectoryNotFoundException) { throw new ImageException($"open {path}: no such file or directory"); }
    }

    private int Import(List<string> argv)
    {
        var a = new Args("import", argv, [], ["change|c", "message|m", "platform"]);
        a.Require(1, 2, "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]");
        string src = a.Positional[0];
        if (src.StartsWith("http://") || src.StartsWith("https://")) throw new UsageException("importing from a URL is not supported");
        using var stream = src == "-" ? Console.OpenStandardInput() : OpenInput(src);
        string id = S.Import(stream, a.Positional.Count > 1 ? a.Positional[1] : null, a.Values("change"), a.Value("message"));
        _out.WriteLine(id);
        return 0;
    }

    private int Prune(List<string> argv)
    {
        var a = new Args("image prune", argv, ["all|a", "force|f"], ["filter"]);
        a.Require(0, 0, "[OPTIONS]");
        if (!a.Flag("force"))
        {
            if (Console.IsInputRedirected) throw new UsageException("image prune needs --force (-f) when not on a terminal");
            _out.Write(a.Flag("all")
                ? "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] "
                : "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ");
            if (Console.ReadLine()?.Trim().ToLowerInvariant() is not ("y" or "yes")) return 0;
        }
        var r = S.Prune(a.Flag("all"), a.Values("filter"));
        if (r.Untagged.Count + r.Deleted.Count > 0)
        {
            _out.WriteLine("Deleted Images:");
            foreach (var u in r.Untagged) _out.WriteLine($"untagged: {u}");
            foreach (var d in r.Deleted) _out.WriteLine($"deleted: {d}");
            _out.WriteLine();
        }
        _out.WriteLine($"Total reclaimed space: {Formatting.Size(r.SpaceReclaimed)}");
        return 0;
    }

    private async Task<int> Login(List<string> argv, CancellationToken ct)
    {
        var a = new Args("login", argv, ["password-stdin"], ["username|u", "password|p"]);
        a.Require(0, 1, "[OPTIONS] [SERVER]");
        string server = NormaliseServer(a.Positional.Count > 0 ? a.Positional[0] : ImageReference.DockerHub);
        string? user = a.Value("username");
        string? password = a.Value("password");
        if (a.Flag("password-stdin"))
        {
            if (password is not null) throw new UsageException("--password and --password-stdin are mutually exclusive");
            if (user is null) throw new UsageException("must provide --username with --password-stdin");
            password = Console.In.ReadToEnd().TrimEnd('\n', '\r');
        }
        if (user is null || password is null)
        {
            if (Console.IsInputRedirected) throw new UsageException("login needs --username and --password (or --password-stdin) when not on a terminal");
            if (user is null) { _out.Write("Username: "); user = Console.ReadLine() ?? ""; }
            if (password is null) { _out.Write("Password: "); password = ReadHidden(); _out.WriteLine(); }
        }
        if (user.Length == 0) throw new ImageException("Username is required");
        var creds = new Credentials(user, password);
        var insecure = (Environment.GetEnvironmentVariable("BERTH_INSECURE_REGISTRIES") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        using var client = new RegistryClient(new RegistryOptions { ExplicitCredentials = creds, InsecureRegistries = insecure });
        await client.CheckLoginAsync(server, ct);
        var store = new CredentialStore();
        store.Save(server, creds);
        _out.WriteLine($"Login Succeeded");
        return 0;
    }

    private int Logout(List<string> argv)
    {
        var a = new Args("logout", argv, [], []);
        a.Require(0, 1, "[SERVER]");
        string server = NormaliseServer(a.Positional.Count > 0 ? a.Positional[0] : ImageReference.DockerHub);
        var store = new CredentialStore();
        if (store.Remove(server)) _out.WriteLine($"Removing login credentials for {server}");
        else _out.WriteLine($"Not logged in to {server}");
        return 0;
    }

    private static string NormaliseServer(string s)
    {
        if (s.StartsWith("https://")) s = s[8..];
        else if (s.StartsWith("http://")) s = s[7..];
        s = s.TrimEnd('/');
        int slash = s.IndexOf('/');
        if (slash >= 0) s = s[..slash];
        return s is "index.docker.io" or "registry-1.docker.io" ? ImageReference.DockerHub : s;
    }

    private static string ReadHidden()
    {
        var sb = new System.Text.StringBuilder();
        while (true)
        {
            var k = Console.ReadKey(intercept: true);
            if (k.Key == ConsoleKey.Enter) return sb.ToString();
            if (k.Key == ConsoleKey.Backspace) { if (sb.Length > 0) sb.Length--; continue; }
            sb.Append(k.KeyChar);
        }
    }
}
