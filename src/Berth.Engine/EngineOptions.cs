namespace Berth.Engine;

/// <summary>Where berthd keeps things and which helpers it runs.</summary>
public sealed class EngineOptions
{
    public string DataRoot { get; set; } = "/var/lib/berth";
    public string ExecRoot { get; set; } = "/run/berth";
    /// <summary>The API socket; default EXEC_ROOT/berth.sock.</summary>
    public string? Host { get; set; }
    public string RuntimePath { get; set; } = "";
    /// <summary>The runtime is Berth's own: berthd may call its library in-process (start) and use its extensions.</summary>
    public bool RuntimeIsBerth => Path.GetFileName(RuntimePath) == "berth-runtime";
    public string ShimPath { get; set; } = "";
    /// <summary>berth-init: the `--init` process and the loopback hook (docker's --init-path).</summary>
    public string InitPath { get; set; } = "";
    /// <summary>The address `host-gateway` stands for in --add-host (docker's --host-gateway-ip); empty: the host's default-route address.</summary>
    public string HostGatewayIp { get; set; } = "";
    /// <summary>cgroup parent of every container (cgroupfs path, as docker's --cgroup-parent).</summary>
    public string CgroupParent { get; set; } = "/berth";
    public string? Snapshotter { get; set; }
    public string Socket => Host ?? Path.Combine(ExecRoot, "berth.sock");
    public string RuntimeRoot => Path.Combine(ExecRoot, "runtime");
    public string ShimDir => Path.Combine(ExecRoot, "shims");
    public string ContainersDir => Path.Combine(DataRoot, "containers");
    public string BundlesDir => Path.Combine(ExecRoot, "containers");
    public string ImagesRoot => DataRoot;

    /// <summary>Finds a helper binary: beside this program, then artifacts/bin up the tree, then PATH.</summary>
    public static string FindHelper(string name)
    {
        var here = AppContext.BaseDirectory;
        var candidates = new List<string> { Path.Combine(here, name) };
        for (var d = new DirectoryInfo(here); d is not null; d = d.Parent)
            candidates.Add(Path.Combine(d.FullName, "artifacts", "bin", name));
        foreach (var p in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            candidates.Add(Path.Combine(p, name));
        return candidates.FirstOrDefault(File.Exists) ?? name;
    }
}

/// <summary>An error the API returns with docker's status code and message.</summary>
public sealed class EngineException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
    public static EngineException NotFound(string m) => new(404, m);
    public static EngineException Conflict(string m) => new(409, m);
    public static EngineException BadRequest(string m) => new(400, m);
    public static EngineException NotModified() => new(304, "");
    public static EngineException Forbidden(string m) => new(403, m);
}
