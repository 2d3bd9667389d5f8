using Berth.Integration.Tests.Support;
using Berth.Oci.Runtime;

namespace Berth.Integration.Tests.Runtime;

/// <summary>cgroup limits enforced by the kernel on a real container.</summary>
public sealed class ResourceLimitTests : IDisposable
{
    private readonly RuntimeHarness _rt = new();
    public void Dispose() => _rt.Dispose();

    [Fact]
    public void A_process_beyond_its_memory_limit_is_oom_killed()
    {
        // dd allocates one 64 MiB buffer; the container may use 16 MiB.
        using var b = new BusyboxBundle("/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1");
        b.Spec.Linux!.Resources = new LinuxResources { Memory = new LinuxMemory { Limit = 16 << 20, Swap = 16 << 20 } };
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 137, r.ToString()); // 128 + SIGKILL
    }

    [Fact]
    public void A_fork_loop_is_stopped_by_the_pids_limit()
    {
        using var b = new BusyboxBundle().Script("n=0; for i in $(seq 40); do sleep 3 & n=$((n+1)); done; echo started=$n");
        b.Spec.Linux!.Resources = new LinuxResources { Pids = new LinuxPids { Limit = 10 } };
        var r = _rt.RunBundle(b);
        Assert.Contains("can't fork", r.Stderr);
        Assert.DoesNotContain("started=40", r.Stdout);
    }

    [Fact]
    public void Cpu_and_memory_settings_land_in_the_containers_cgroup()
    {
        using var b = new BusyboxBundle().Script("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max");
        b.Spec.Linux!.Resources = new LinuxResources
        {
            Memory = new LinuxMemory { Limit = 64 << 20 },
            Cpu = new LinuxCpu { Shares = 512, Quota = 50000, Period = 100000 },
            Pids = new LinuxPids { Limit = 99 },
        };
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { (64 << 20).ToString(), "512", "50000", "99" }, r.Stdout.Trim().Split('\n'));
    }

    [Fact]
    public void A_device_of_the_config_is_usable_only_as_its_cgroup_rules_say()
    {
        // /dev/loop0 (b 7:0) is none of the default devices; under "deny all" a node with no rule
        // exists but cannot be opened, one with an "r" rule opens for reading only (as with runc).
        const string script = "test -b /dev/l && echo node; true < /dev/l && echo canread; (true > /dev/l) 2>/dev/null && echo canwrite || echo nowrite";
        string Run(params LinuxDeviceCgroup[] extra)
        {
            using var b = new BusyboxBundle().Script(script);
            b.Spec.Linux!.Devices = [new LinuxDevice { Path = "/dev/l", Type = "b", Major = 7, Minor = 0, FileMode = 384, Uid = 0, Gid = 0 }];
            b.Spec.Linux.Resources = new LinuxResources { Devices = [new LinuxDeviceCgroup { Allow = false, Access = "rwm" }, .. extra] };
            return _rt.RunBundle(b).Stdout;
        }
        Assert.Equal("node\nnowrite\n", Run());
        Assert.Equal("node\ncanread\nnowrite\n", Run(new LinuxDeviceCgroup { Allow = true, Type = "b", Major = 7, Minor = 0, Access = "r" }));
        Assert.Equal("node\ncanread\ncanwrite\n", Run(new LinuxDeviceCgroup { Allow = true, Type = "b", Major = 7, Minor = 0, Access = "rw" }));
    }

    [Fact]
    public void Pause_freezes_and_resume_thaws_the_container()
    {
        using var b = new BusyboxBundle("/bin/sleep", "30");
        string id = _rt.NewId();
        _rt.Place(b, id);
        Assert.Equal(0, _rt.Detached("run", "-d", "--bundle", b.Write(), id).ExitCode);
        Assert.Equal("running", _rt.Status(id));
        Assert.Equal(0, _rt.Run("pause", id).ExitCode);
        Assert.Equal("paused", _rt.Status(id));
        Assert.NotEqual(0, _rt.Run("delete", id).ExitCode); // a paused container is not stopped
        Assert.Equal(0, _rt.Run("resume", id).ExitCode);
        Assert.Equal("running", _rt.Status(id));
        Assert.Equal(0, _rt.Run("delete", "--force", id).ExitCode);
        Assert.Empty(_rt.CgroupDirs().SelectMany(Directory.EnumerateDirectories));
    }
}
