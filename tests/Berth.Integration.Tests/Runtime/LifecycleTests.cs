using System.Text.Json;
using Berth.Integration.Tests.Support;

namespace Berth.Integration.Tests.Runtime;

/// <summary>The runc command line: create, start, state, kill, delete, exec, list, ps, events, update.</summary>
public sealed class LifecycleTests : IDisposable
{
    private readonly RuntimeHarness _rt = new();
    public void Dispose() => _rt.Dispose();

    [Fact]
    public void Create_start_state_kill_delete_with_correct_statuses()
    {
        using var b = new BusyboxBundle("/bin/sleep", "60");
        string id = _rt.NewId();
        _rt.Place(b, id);
        using var pidDir = new TempDir();
        string pidFile = Path.Combine(pidDir.Path, "pid");
        var created = _rt.Detached("create", "--bundle", b.Write(), "--pid-file", pidFile, id);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Equal("created", _rt.Status(id));
        var state = JsonDocument.Parse(_rt.Run("state", id).Stdout).RootElement;
        Assert.Equal(int.Parse(File.ReadAllText(pidFile)), state.GetProperty("pid").GetInt32());
        Assert.Equal(b.Dir, state.GetProperty("bundle").GetString());

        Assert.Equal(0, _rt.Run("start", id).ExitCode);
        Assert.Equal("running", _rt.Status(id));
        Assert.Contains(id, _rt.Run("list").Stdout);
        var ps = JsonSerializer.Deserialize<int[]>(_rt.Run("ps", "--format", "json", id).Stdout)!;
        Assert.Contains(state.GetProperty("pid").GetInt32(), ps);

        Assert.Equal(0, _rt.Run("kill", id, "KILL").ExitCode);
        WaitFor(() => _rt.Status(id) == "stopped");
        Assert.Equal(0, _rt.Run("delete", id).ExitCode);
        Assert.Equal("missing", _rt.Status(id));
        Assert.False(_rt.StateDirExists(id));
        Assert.Empty(_rt.CgroupDirs().SelectMany(Directory.EnumerateDirectories));
    }

    /// <summary>
    /// The C stage moves the child into its cgroup itself (v1 `tasks`, CLONE_INTO_CGROUP for the unified
    /// hierarchy), also from inside a new user namespace; an exec'd process joins the same way after
    /// entering the container's namespaces. Every hierarchy of /proc/PID/cgroup must show the container's path.
    /// </summary>
    [Fact]
    public void Init_and_exec_join_the_containers_cgroup_in_every_hierarchy_also_from_a_user_namespace()
    {
        using var b = new BusyboxBundle("/bin/sleep", "60");
        b.Spec.Linux!.Namespaces!.Add(new Berth.Oci.Runtime.LinuxNamespace { Type = "user" });
        b.Spec.Linux.Namespaces.Add(new Berth.Oci.Runtime.LinuxNamespace { Type = "cgroup" });
        b.Spec.Linux.UidMappings = new() { new Berth.Oci.Runtime.IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
        b.Spec.Linux.GidMappings = new() { new Berth.Oci.Runtime.IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
        string id = _rt.NewId();
        _rt.Place(b, id);
        using var pidDir = new TempDir();
        string initPid = Path.Combine(pidDir.Path, "init"), execPid = Path.Combine(pidDir.Path, "exec");
        var run = _rt.Detached("run", "-d", "--bundle", b.Write(), "--pid-file", initPid, id);
        Assert.True(run.ExitCode == 0, run.ToString());
        var exec = _rt.Detached("exec", "-d", "--pid-file", execPid, id, "/bin/sleep", "60");
        Assert.True(exec.ExitCode == 0, exec.ToString());

        string expected = $"{_rt.CgroupParent}/{id}";
        var hierarchies = File.ReadAllLines("/proc/self/cgroup").Select(l => l[..l.LastIndexOf(':')]).ToList();
        foreach (var pidFile in new[] { initPid, execPid })
        {
            var lines = File.ReadAllLines($"/proc/{File.ReadAllText(pidFile).Trim()}/cgroup");
            Assert.Equal(hierarchies, lines.Select(l => l[..l.LastIndexOf(':')]).ToList());
            Assert.All(lines, l => Assert.EndsWith(":" + expected, l));
        }
        // Inside, the container's cgroup is the root of its cgroup namespace (unshared after the move).
        var inside = _rt.Run("exec", id, "/bin/cat", "/proc/self/cgroup");
        Assert.True(inside.ExitCode == 0, inside.ToString());
        var insideLines = inside.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(hierarchies.Count, insideLines.Length);
        Assert.All(insideLines, l => Assert.EndsWith(":/", l));
        Assert.Equal(0, _rt.Run("delete", "--force", id).ExitCode);
    }

    /// <summary>
    /// Without a PID namespace of its own, the init's death leaves its children running: delete finds
    /// them in the container's cgroup (whose removal fails while they are there), ends them, removes it.
    /// </summary>
    [Fact]
    public void Delete_ends_what_outlives_an_init_that_shares_the_hosts_PID_namespace()
    {
        using var b = new BusyboxBundle().Script("sleep 60 & exec sleep 61");
        b.Spec.Linux!.Namespaces!.RemoveAll(n => n.Type == "pid");
        string id = _rt.NewId();
        _rt.Place(b, id);
        Assert.Equal(0, _rt.Detached("run", "-d", "--bundle", b.Write(), id).ExitCode);
        string procs = $"/sys/fs/cgroup/pids{_rt.CgroupParent}/{id}/cgroup.procs";
        WaitFor(() => File.ReadAllLines(procs).Length == 2);
        var pids = File.ReadAllLines(procs).Select(int.Parse).ToList();
        Assert.Equal(0, _rt.Run("kill", id, "KILL").ExitCode);
        WaitFor(() => _rt.Status(id) == "stopped");
        Assert.Single(File.ReadAllLines(procs)); // the background sleep lives on

        var deleted = _rt.Run("delete", id);
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.False(Directory.Exists(Path.GetDirectoryName(procs)));
        Assert.All(pids, pid => WaitFor(() => !File.Exists($"/proc/{pid}/stat") || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z"));
    }

    [Fact]
    public void Without_cgroupsPath_the_container_gets_its_id_under_the_callers_cgroup_and_delete_leaves_no_cgroup()
    {
        using var b = new BusyboxBundle("/bin/sleep", "60");
        string id = _rt.NewId("dflt");
        var created = _rt.Detached("create", "--bundle", b.Write(), id); // not placed: the default cgroupsPath
        Assert.True(created.ExitCode == 0, created.ToString());
        // runc's rule: <the caller's own cgroup>/<id> in each hierarchy (this test's process is the caller's parent)
        string ownMemory = File.ReadAllLines("/proc/self/cgroup").Select(l => l.Split(':', 3)).First(f => f[1].Split(',').Contains("memory"))[2];
        string expected = $"/sys/fs/cgroup/memory{ownMemory.TrimEnd('/')}/{id}";
        Assert.True(Directory.Exists(expected), $"{expected} missing");
        int pid = int.Parse(System.Text.Json.JsonDocument.Parse(_rt.Run("state", id).Stdout).RootElement.GetProperty("pid").ToString());
        Assert.Contains($":memory:{ownMemory.TrimEnd('/')}/{id}", File.ReadAllText($"/proc/{pid}/cgroup"));
        Assert.Equal(0, _rt.Run("delete", "--force", id).ExitCode);
        Assert.False(Directory.Exists(expected));
        Assert.True(Directory.Exists(Path.GetDirectoryName(expected)), "delete removed the caller's own cgroup");
    }

    [Fact]
    public void Delete_removes_the_parents_create_made_and_nothing_create_found()
    {
        string outer = $"/sys/fs/cgroup/pids{_rt.CgroupParent}";
        Directory.CreateDirectory(outer); // as kubelet's pod cgroup: there before the container, not the runtime's
        using var b = new BusyboxBundle("/bin/sleep", "60");
        string id = _rt.NewId("par");
        b.Spec.Linux!.CgroupsPath = $"{_rt.CgroupParent}/made/{id}";
        var created = _rt.Detached("create", "--bundle", b.Write(), id);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.True(Directory.Exists($"{outer}/made/{id}"));
        Assert.Equal(0, _rt.Run("delete", "--force", id).ExitCode);
        Assert.False(Directory.Exists($"{outer}/made"), "the parent create made is still there");
        Assert.True(Directory.Exists(outer), "delete removed a parent it did not make");
        // in the hierarchies where create made both levels, both are gone
        Assert.False(Directory.Exists($"/sys/fs/cgroup/memory{_rt.CgroupParent}"));
    }

    [Fact]
    public void Exec_runs_in_the_containers_namespaces_and_returns_its_exit_code()
    {
        using var b = new BusyboxBundle("/bin/sleep", "60");
        b.Spec.Hostname = "exec-box";
        string id = _rt.NewId();
        _rt.Place(b, id);
        Assert.Equal(0, _rt.Detached("run", "-d", "--bundle", b.Write(), id).ExitCode);
        var r = _rt.Run("exec", "--env", "X=42", "--cwd", "/tmp", id, "/bin/sh", "-c", "hostname; echo $X; pwd; set -- /proc/[0-9]*; echo $#; exit 7");
        Assert.Equal(7, r.ExitCode);
        var lines = r.Stdout.Split('\n');
        Assert.Equal("exec-box", lines[0]);
        Assert.Equal("42", lines[1]);
        Assert.Equal("/tmp", lines[2]);
        Assert.Equal("2", lines[3]); // sleep (pid 1) and this shell: the container's PID namespace
    }

    [Fact]
    public void Run_in_the_foreground_returns_the_exit_code_and_removes_the_container()
    {
        using var b = new BusyboxBundle().Script("echo out; echo err >&2; exit 3");
        string id = _rt.NewId();
        var r = _rt.RunBundle(b, id);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
        Assert.False(_rt.StateDirExists(id));
    }

    [Fact]
    public void Update_changes_limits_and_events_reports_stats()
    {
        using var b = new BusyboxBundle("/bin/sleep", "60");
        string id = _rt.NewId();
        _rt.Place(b, id);
        Assert.Equal(0, _rt.Detached("run", "-d", "--bundle", b.Write(), id).ExitCode);
        var u = _rt.RunWithInput("{\"pids\":{\"limit\":42},\"memory\":{\"limit\":33554432}}", "update", "--resources", "-", id);
        Assert.True(u.ExitCode == 0, u.ToString());
        var ev = JsonDocument.Parse(_rt.Run("events", "--stats", id).Stdout).RootElement;
        Assert.Equal("stats", ev.GetProperty("type").GetString());
        Assert.Equal(42, ev.GetProperty("data").GetProperty("pids").GetProperty("limit").GetInt64());
        Assert.True(ev.GetProperty("data").GetProperty("pids").GetProperty("current").GetInt64() >= 1);
        Assert.Equal(33554432, ev.GetProperty("data").GetProperty("memory").GetProperty("usage").GetProperty("limit").GetInt64());
    }

    [Fact]
    public void Spec_writes_a_config_that_runs_and_features_is_json()
    {
        using var b = new BusyboxBundle();
        File.Delete(Path.Combine(b.Dir, "config.json"));
        Assert.Equal(0, _rt.Run("spec", "--bundle", b.Dir).ExitCode);
        Assert.NotEqual(0, _rt.Run("spec", "--bundle", b.Dir).ExitCode); // refuses to overwrite
        var spec = JsonDocument.Parse(File.ReadAllText(Path.Combine(b.Dir, "config.json"))).RootElement;
        Assert.Equal("rootfs", spec.GetProperty("root").GetProperty("path").GetString());
        var features = JsonDocument.Parse(_rt.Run("features").Stdout).RootElement;
        Assert.Contains("SCMP_ACT_NOTIFY", features.GetProperty("linux").GetProperty("seccomp").GetProperty("actions").EnumerateArray().Select(a => a.GetString()));
    }

    internal static void WaitFor(Func<bool> condition, int timeoutMs = 10_000)
    {
        var until = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("condition not met in time");
            Thread.Sleep(20);
        }
    }
}
