using Berth.Integration.Tests.Support;
using Berth.Oci.Runtime;

namespace Berth.Integration.Tests.Runtime;

/// <summary>Each bad input: one line on stderr naming the cause, a non-zero exit, and nothing left behind.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly RuntimeHarness _rt = new();
    public void Dispose() => _rt.Dispose();

    private void AssertRefusedCleanly(CommandResult r, string id, string expected)
    {
        Assert.True(r.ExitCode != 0, r.ToString());
        var lines = r.Stderr.Trim().Split('\n');
        Assert.True(lines.Length == 1, r.ToString());
        Assert.Contains(expected, lines[0]);
        Assert.False(_rt.StateDirExists(id), "state folder left behind");
        Assert.Empty(_rt.CgroupDirs().SelectMany(Directory.EnumerateDirectories));
        Assert.DoesNotContain(id, File.ReadAllText("/proc/self/mountinfo"));
    }

    private CommandResult CreateWithConfig(BusyboxBundle b, string id, string? rawConfig = null)
    {
        _rt.Place(b, id);
        string dir = b.Write();
        if (rawConfig is not null) File.WriteAllText(Path.Combine(dir, "config.json"), rawConfig);
        return _rt.Detached("create", "--bundle", dir, id);
    }

    [Fact]
    public void Config_that_is_not_json()
    {
        using var b = new BusyboxBundle();
        string id = _rt.NewId();
        AssertRefusedCleanly(CreateWithConfig(b, id, "{ \"ociVersion\": \"1.0.2\", "), id, "config.json: invalid JSON");
    }

    [Fact]
    public void Config_with_a_wrongly_typed_field_names_it()
    {
        using var b = new BusyboxBundle();
        string id = _rt.NewId();
        AssertRefusedCleanly(CreateWithConfig(b, id, "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":\"sh\",\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"}}"), id, "process.args");
    }

    [Fact]
    public void Config_without_a_required_field()
    {
        using var b = new BusyboxBundle();
        b.Spec.Process!.Cwd = null;
        string id = _rt.NewId();
        AssertRefusedCleanly(CreateWithConfig(b, id), id, "process.cwd is required");
    }

    [Fact]
    public void Unknown_namespace_mount_type_capability_and_seccomp_action()
    {
        using (var b = new BusyboxBundle())
        {
            b.Spec.Linux!.Namespaces!.Add(new LinuxNamespace { Type = "galaxy" });
            string id = _rt.NewId();
            AssertRefusedCleanly(CreateWithConfig(b, id), id, "unknown namespace type \"galaxy\"");
        }
        using (var b = new BusyboxBundle())
        {
            b.Spec.Mounts!.Add(new Mount { Destination = "/x", Type = "notafs", Source = "none" });
            string id = _rt.NewId();
            AssertRefusedCleanly(CreateWithConfig(b, id), id, "unknown mount type \"notafs\"");
        }
        using (var b = new BusyboxBundle())
        {
            b.Spec.Process!.Capabilities!.Bounding!.Add("CAP_TELEPORT");
            string id = _rt.NewId();
            AssertRefusedCleanly(CreateWithConfig(b, id), id, "unknown capability \"CAP_TELEPORT\"");
        }
        using (var b = new BusyboxBundle())
        {
            b.Spec.Linux!.Seccomp = new LinuxSeccomp { DefaultAction = "SCMP_ACT_EXPLODE" };
            string id = _rt.NewId();
            AssertRefusedCleanly(CreateWithConfig(b, id), id, "unknown seccomp action \"SCMP_ACT_EXPLODE\"");
        }
    }

    [Fact]
    public void Bundle_without_a_rootfs()
    {
        using var b = new BusyboxBundle();
        Directory.Delete(b.Rootfs, recursive: true);
        string id = _rt.NewId();
        AssertRefusedCleanly(CreateWithConfig(b, id), id, "rootfs");
    }

    [Fact]
    public void A_failure_inside_the_init_leaves_nothing_behind()
    {
        using var b = new BusyboxBundle("/bin/no-such-program");
        string id = _rt.NewId();
        AssertRefusedCleanly(CreateWithConfig(b, id), id, "no-such-program");
    }

    [Fact]
    public void Ids_that_exist_already_or_hold_a_slash()
    {
        using var b = new BusyboxBundle("/bin/sleep", "30");
        string id = _rt.NewId();
        Assert.Equal(0, CreateWithConfig(b, id).ExitCode);
        var again = _rt.Detached("create", "--bundle", b.Dir, id);
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("already exists", again.Stderr);
        Assert.Equal("created", _rt.Status(id)); // the first one is untouched

        var slash = _rt.Detached("create", "--bundle", b.Dir, "a/b");
        Assert.NotEqual(0, slash.ExitCode);
        Assert.Contains("slash", slash.Stderr);
    }

    /// <summary>
    /// The v1 limits are written after the init is spawned (while its runtime starts): a limit the
    /// kernel refuses must still end the init and take every cgroup, new parents included, with it.
    /// </summary>
    [Fact]
    public void A_limit_the_kernel_refuses_ends_the_spawned_init_and_leaves_no_cgroup()
    {
        using var b = new BusyboxBundle();
        (b.Spec.Linux!.Resources ??= new LinuxResources()).Cpu = new LinuxCpu { Cpus = "99-100" };
        string id = _rt.NewId();
        AssertRefusedCleanly(CreateWithConfig(b, id), id, "cpuset.cpus=99-100");
        Assert.Empty(_rt.CgroupDirs());
    }

    [Fact]
    public void Start_on_a_running_container_and_kill_or_delete_on_a_missing_one()
    {
        using var b = new BusyboxBundle("/bin/sleep", "30");
        string id = _rt.NewId();
        _rt.Place(b, id);
        Assert.Equal(0, _rt.Detached("run", "-d", "--bundle", b.Write(), id).ExitCode);
        var start = _rt.Run("start", id);
        Assert.NotEqual(0, start.ExitCode);
        Assert.Contains("already running", start.Stderr);

        var kill = _rt.Run("kill", "nope-" + id, "KILL");
        Assert.NotEqual(0, kill.ExitCode);
        Assert.Contains("does not exist", kill.Stderr);
        var delete = _rt.Run("delete", "nope-" + id);
        Assert.NotEqual(0, delete.ExitCode);
        Assert.Contains("does not exist", delete.Stderr);
        var badSignal = _rt.Run("kill", id, "SIGWHATEVER");
        Assert.NotEqual(0, badSignal.ExitCode);
        Assert.Contains("unknown signal", badSignal.Stderr);
    }
}
