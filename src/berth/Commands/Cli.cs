using System.Text;
using System.Text.Json;
using Berth.Cli.Client;

namespace Berth.Cli.Commands;

/// <summary>
/// docker's commands as a client of berthd. Each command parses docker's flags, calls the Engine
/// API and prints docker's output; one file per group of commands (Cli.*.cs).
/// </summary>
public sealed partial class EngineCommands : IDisposable
{
    private readonly DaemonAddress _address;
    private DockerClient? _client;
    private readonly Stream _stdout = Program.StdStream(1);
    private readonly Stream _stderr = Program.StdStream(2);

    public TextWriter Out { get; }
    public TextWriter Err { get; }

    /// <summary>The exit code for a daemon error: docker's 125 in run and create, 1 elsewhere.</summary>
    public int DaemonErrorExitCode { get; private set; } = 1;

    public EngineCommands(DaemonAddress address, TextWriter stdout, TextWriter stderr)
    {
        _address = address;
        Out = stdout;
        Err = stderr;
    }

    private async Task<DockerClient> ClientAsync(CancellationToken ct) => _client ??= await DockerClient.ConnectAsync(_address, ct);

    public static readonly string[] Commands =
    [
        "run", "create", "start", "stop", "restart", "kill", "rm", "ps", "logs", "exec", "attach", "inspect", "top", "stats",
        "pause", "unpause", "rename", "wait", "port", "cp", "diff", "commit", "export", "update", "images", "pull", "push", "tag",
        "rmi", "save", "load", "history", "import", "events", "version", "info", "system", "login", "logout", "container", "image",
        "volume", "network", "build",
    ];

    public async Task<int> RunAsync(string command, List<string> argv, CancellationToken ct)
    {
        // Management commands map onto the top-level ones, as in docker.
        if (command is "container" or "image" or "system")
        {
            if (argv.Count == 0 || argv[0] is "--help" or "-h") { Out.Write(Program.Usage); return argv.Count == 0 ? 125 : 0; }
            string sub = argv[0];
            argv = argv.Skip(1).ToList();
            command = (command, sub) switch
            {
                ("container", "ls" or "list" or "ps") => "ps",
                ("container", "rm" or "remove") => "rm",
                ("container", "inspect") => "container-inspect",
                ("image", "ls" or "list") => "images",
                ("image", "rm" or "remove") => "rmi",
                ("image", "inspect") => "image-inspect",
                ("image", "prune") => "image-prune",
                ("container", "prune") => "container-prune",
                ("system", "df") => "system-df",
                ("system", "prune") => "system-prune",
                ("system", "info") => "info",
                ("system", "events") => "events",
                ("container" or "image", _) when Commands.Contains(sub) => sub,
                _ => throw new UsageException($"'{command} {sub}' is not a berth command. See 'berth {command} --help'"),
            };
        }
        if (command is "run" or "create") DaemonErrorExitCode = 125;
        return command switch
        {
            "run" => await Run(argv, ct),
            "create" => await Create(argv, ct),
            "start" => await Start(argv, ct),
            "stop" => await Stop(argv, ct),
            "restart" => await Restart(argv, ct),
            "kill" => await Kill(argv, ct),
            "rm" => await Rm(argv, ct),
            "ps" => await Ps(argv, ct),
            "logs" => await Logs(argv, ct),
            "exec" => await Exec(argv, ct),
            "attach" => await Attach(argv, ct),
            "inspect" => await Inspect(argv, null, ct),
            "container-inspect" => await Inspect(argv, "container", ct),
            "image-inspect" => await Inspect(argv, "image", ct),
            "top" => await Top(argv, ct),
            "stats" => await Stats(argv, ct),
            "pause" => await Simple("pause", argv, id => $"/containers/{id}/pause", ct),
            "unpause" => await Simple("unpause", argv, id => $"/containers/{id}/unpause", ct),
            "rename" => await Rename(argv, ct),
            "wait" => await Wait(argv, ct),
            "port" => await Port(argv, ct),
            "cp" => await Cp(argv, ct),
            "diff" => await Diff(argv, ct),
            "commit" => await Commit(argv, ct),
            "export" => await Export(argv, ct),
            "update" => await Update(argv, ct),
            "images" => await Images(argv, ct),
            "pull" => await Pull(argv, ct),
            "push" => await Push(argv, ct),
            "tag" => await Tag(argv, ct),
            "rmi" => await Rmi(argv, ct),
            "save" => await Save(argv, ct),
            "load" => await Load(argv, ct),
            "history" => await History(argv, ct),
            "import" => await Import(argv, ct),
            "events" => await Events(argv, ct),
            "version" => await Version(argv, ct),
            "info" => await Info(argv, ct),
            "system-df" => await SystemDf(argv, ct),
            "login" => await Login(argv, ct),
            "logout" => Logout(argv),
            "image-prune" => await ImagePrune(argv, ct),
            "container-prune" => await ContainerPrune(argv, ct),
            "system-prune" => await SystemPrune(argv, ct),
            "volume" => await Volume(argv, ct),
            "network" => await Network(argv, ct),
            "build" => await BuildImage(argv, ct),
            _ => throw new UsageException($"'{command}' is not a berth command. See 'berth --help'"),
        };
    }

    // ---------------------------------------------------------------- shared helpers

    private static string Esc(string s) => Uri.EscapeDataString(s);

    /// <summary>Image names go into paths unescaped except for what would break the path (docker: /images/127.0.0.1:5000/bb/push).</summary>
    private static string ImagePath(string name) => string.Join('/', name.Split('/').Select(p => Uri.EscapeDataString(p).Replace("%3A", ":")));

    /// <summary>Runs one request per argument like docker's stop/rm/pause: echoes each argument, reports each failure, exit 1 if any failed.</summary>
    private async Task<int> ForEach(IReadOnlyList<string> names, Func<string, Task> action, bool echo = true)
    {
        int rc = 0;
        foreach (var n in names)
        {
            try
            {
                await action(n);
                if (echo) Out.WriteLine(n);
            }
            catch (DaemonException e)
            {
                Err.WriteLine($"berth: Error response from daemon: {OneLine(e.Message)}");
                rc = 1;
            }
        }
        Out.Flush();
        return rc;
    }

    private async Task<int> Simple(string command, List<string> argv, Func<string, string> path, CancellationToken ct)
    {
        var a = new Args(command, argv, [], []);
        a.Require(1, int.MaxValue, "CONTAINER [CONTAINER...]");
        var c = await ClientAsync(ct);
        return await ForEach(a.Positional, async id => await c.PostAsync(path(Esc(id)), ct: ct));
    }

    public static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    private static byte[] Serialize<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) =>
        JsonSerializer.SerializeToUtf8Bytes(value, info);

    private static string FiltersJson(IEnumerable<string> filters)
    {
        var d = new Dictionary<string, Dictionary<string, bool>>();
        foreach (var f in filters)
        {
            int eq = f.IndexOf('=');
            if (eq <= 0) throw new UsageException($"bad format of filter (expected name=value)");
            string k = f[..eq].Trim().ToLowerInvariant(), v = f[(eq + 1)..];
            if (!d.TryGetValue(k, out var set)) d[k] = set = new();
            set[v] = true;
        }
        return JsonSerializer.Serialize(d, CliJsonContext.Default.DictionaryStringDictionaryStringBoolean);
    }

    private static string Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static long Num(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : 0;

    private static bool Bool(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static JsonElement Obj(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : default;

    private static string ShortId(string id)
    {
        string s = id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..] : id;
        return s.Length > 12 ? s[..12] : s;
    }

    /// <summary>A JSON object of string fields (the rows that ps/images --format see, as docker's formatter contexts).</summary>
    private static JsonElement Row(IEnumerable<(string Key, string Value)> fields)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            foreach (var (k, v) in fields.OrderBy(f => f.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
        }
        return JsonDocument.Parse(ms.ToArray()).RootElement;
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        Out.Flush();
        _stdout.Write(bytes);
        _stdout.Flush();
    }

    public void Dispose() => _client?.Dispose();
}
