namespace Berth.Integration.Tests.Support;

/// <summary>
/// Drives the published berth-runtime with a private --root and a private cgroup parent, and
/// on Dispose force-deletes whatever a test left, so a failing test leaks nothing.
/// </summary>
public sealed class RuntimeHarness : IDisposable
{
    public string Binary { get; } = Repo.Binary("berth-runtime");
    public string Root { get; } = MakeRoot();

    // 0711 like /run/berth/runtime: a container's init in a user namespace must pass through it.
    private static string MakeRoot()
    {
        string dir = Directory.CreateTempSubdirectory("berth-rt-").FullName;
        File.SetUnixFileMode(dir, (UnixFileMode)0x1c9);
        return dir;
    }
    public string CgroupParent { get; } = "/berth-test-" + Guid.NewGuid().ToString("N")[..10];
    private readonly HashSet<string> _ids = new();

    public string NewId(string prefix = "t")
    {
        string id = $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";
        _ids.Add(id);
        return id;
    }

    /// <summary>Gives the bundle a cgroup under this harness's parent, so cleanup finds it.</summary>
    public void Place(BusyboxBundle bundle, string id)
    {
        (bundle.Spec.Linux ??= new()).CgroupsPath = $"{CgroupParent}/{id}";
    }

    public CommandResult Run(params string[] args) => Command.Run(Binary, new[] { "--root", Root }.Concat(args));

    /// <summary>For create and run -d: the container keeps its stdio, so it must not be our pipes.</summary>
    public CommandResult Detached(params string[] args) => Command.RunDetached(Binary, new[] { "--root", Root }.Concat(args));

    public CommandResult RunWithInput(string stdin, params string[] args) => Command.Run(Binary, new[] { "--root", Root }.Concat(args), stdin);

    /// <summary>`run` a bundle in the foreground and return what its process printed.</summary>
    public CommandResult RunBundle(BusyboxBundle bundle, string? id = null)
    {
        id ??= NewId();
        Place(bundle, id);
        return Run("run", "--bundle", bundle.Write(), id);
    }

    public string Status(string id)
    {
        var r = Run("state", id);
        if (r.ExitCode != 0) return "missing";
        var doc = System.Text.Json.JsonDocument.Parse(r.Stdout);
        return doc.RootElement.GetProperty("status").GetString()!;
    }

    /// <summary>Every cgroup directory (all hierarchies) under this harness's parent.</summary>
    public IEnumerable<string> CgroupDirs() =>
        Directory.EnumerateDirectories("/sys/fs/cgroup").SelectMany(h =>
        {
            string p = h + CgroupParent;
            return Directory.Exists(p) ? new[] { p } : Array.Empty<string>();
        });

    public bool StateDirExists(string id) => Directory.Exists(Path.Combine(Root, id));

    public void Dispose()
    {
        foreach (var id in _ids) Command.Run(Binary, new[] { "--root", Root, "delete", "--force", id });
        foreach (var dir in CgroupDirs().ToList()) RemoveTree(dir);
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    private static void RemoveTree(string dir)
    {
        foreach (var sub in Directory.EnumerateDirectories(dir)) RemoveTree(sub);
        try { Directory.Delete(dir); } catch (IOException) { }
    }
}
