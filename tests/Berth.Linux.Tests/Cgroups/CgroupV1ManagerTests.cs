using Berth.Linux.Cgroups;
using Berth.Oci.Runtime;

namespace Berth.Linux.Tests.Cgroups;

/// <summary>Real cgroups on this host (hybrid or v1). Each test works below its own /berth-test-* parent.</summary>
public class CgroupV1ManagerTests
{
    private static bool V1Host => CgroupLayout.Current.Mode is CgroupMode.V1 or CgroupMode.Hybrid;

    private static string Read(ICgroupManager m, string controller, string file) =>
        File.ReadAllText(Path.Combine(m.PathFor(controller)!, file)).Trim();

    /// <summary>A block device of this machine (throttle rules need a real one).</summary>
    internal static (long, long) SomeBlockDevice()
    {
        var dev = Directory.GetDirectories("/sys/block").Order().Select(d => File.ReadAllText(Path.Combine(d, "dev")).Trim()).First();
        var parts = dev.Split(':');
        return (long.Parse(parts[0]), long.Parse(parts[1]));
    }

    [Fact]
    public void Create_apply_read_back_destroy()
    {
        if (!V1Host) return;
        using var scope = new CgroupTestScope();
        var m = CgroupManager.Open(scope.Path("c1"));
        Assert.False(m.Exists());
        m.Create();
        Assert.True(m.Exists());
        foreach (var p in m.Paths.Values) Assert.True(Directory.Exists(p), p);
        // cpuset levels inherit the parent's cpus/mems, or no process could join
        Assert.NotEqual("", Read(m, "cpuset", "cpuset.cpus"));
        Assert.NotEqual("", Read(m, "cpuset", "cpuset.mems"));

        var (blkMajor, blkMinor) = SomeBlockDevice();
        m.Apply(new LinuxResources
        {
            Memory = new LinuxMemory { Limit = 64 << 20, Reservation = 32 << 20, Swap = 128 << 20, Swappiness = 10 },
            Cpu = new LinuxCpu { Shares = 512, Quota = 50000, Period = 100000, Cpus = "0", Mems = "0" },
            Pids = new LinuxPids { Limit = 42 },
            BlockIo = new LinuxBlockIo
            {
                ThrottleReadBpsDevice = [new LinuxThrottleDevice { Major = blkMajor, Minor = blkMinor, Rate = 1048576 }],
                ThrottleWriteIopsDevice = [new LinuxThrottleDevice { Major = blkMajor, Minor = blkMinor, Rate = 100 }],
            },
            Devices =
            [
                new LinuxDeviceCgroup { Allow = false, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 136, Minor = null, Access = "rw" },
            ],
        });
        Assert.Equal((64 << 20).ToString(), Read(m, "memory", "memory.limit_in_bytes"));
        Assert.Equal((32 << 20).ToString(), Read(m, "memory", "memory.soft_limit_in_bytes"));
        if (File.Exists(Path.Combine(m.PathFor("memory")!, "memory.memsw.limit_in_bytes")))
            Assert.Equal((128 << 20).ToString(), Read(m, "memory", "memory.memsw.limit_in_bytes"));
        Assert.Equal("10", Read(m, "memory", "memory.swappiness"));
        Assert.Equal("512", Read(m, "cpu", "cpu.shares"));
        Assert.Equal("50000", Read(m, "cpu", "cpu.cfs_quota_us"));
        Assert.Equal("100000", Read(m, "cpu", "cpu.cfs_period_us"));
        Assert.Equal("0", Read(m, "cpuset", "cpuset.cpus"));
        Assert.Equal("42", Read(m, "pids", "pids.max"));
        Assert.Equal($"{blkMajor}:{blkMinor} 1048576", Read(m, "blkio", "blkio.throttle.read_bps_device"));
        Assert.Equal($"{blkMajor}:{blkMinor} 100", Read(m, "blkio", "blkio.throttle.write_iops_device"));
        Assert.Equal("c 1:3 rwm\nc 136:* rw", Read(m, "devices", "devices.list"));

        // lowering the limit below memsw, then raising both above the old memsw: both orders must work
        m.Apply(new LinuxResources { Memory = new LinuxMemory { Limit = 16 << 20, Swap = 32 << 20 } });
        m.Apply(new LinuxResources { Memory = new LinuxMemory { Limit = 256 << 20, Swap = 512 << 20 } });
        Assert.Equal((256 << 20).ToString(), Read(m, "memory", "memory.limit_in_bytes"));
        m.Apply(new LinuxResources { Memory = new LinuxMemory { Limit = -1, Swap = -1 }, Pids = new LinuxPids { Limit = 0 } });
        Assert.Equal("max", Read(m, "pids", "pids.max"));
        // kernel memory limits are accepted (and ignored by kernels >= 6.x); OOM killer can be disabled
        m.Apply(new LinuxResources { Memory = new LinuxMemory { Kernel = 1 << 30, KernelTcp = 1 << 30, DisableOomKiller = true } });
        Assert.Contains("oom_kill_disable 1", Read(m, "memory", "memory.oom_control"));
        // -1 quota removes the CPU limit
        m.Apply(new LinuxResources { Cpu = new LinuxCpu { Quota = -1 } });
        Assert.Equal("-1", Read(m, "cpu", "cpu.cfs_quota_us"));

        var paths = m.Paths.Values.ToList();
        m.Destroy();
        foreach (var p in paths) Assert.False(Directory.Exists(p), p);
        Assert.False(m.Exists());
        // the parent was created by this manager too, and is gone
        foreach (var h in scope.Layout.Hierarchies) Assert.False(Directory.Exists(h.HostPath(scope.Parent)));
    }

    [Fact]
    public void Process_moves_in_shows_in_pids_freezes_and_thaws()
    {
        if (!V1Host) return;
        using var scope = new CgroupTestScope();
        var m = CgroupManager.Open(scope.Path("c2"));
        m.Create();
        var p = scope.Start("/bin/sleep", "30");
        m.AddProcess(p.Id);
        Assert.Equal([p.Id], m.Pids());
        var own = File.ReadAllText($"/proc/{p.Id}/cgroup");
        Assert.Contains($":memory:{scope.Path("c2")}\n", own);
        Assert.Contains($":name=systemd:{scope.Path("c2")}\n", own);
        if (scope.Layout.Mode == CgroupMode.Hybrid) Assert.Contains($"0::{scope.Path("c2")}\n", own);

        m.Freeze();
        Assert.True(m.IsFrozen);
        Assert.Equal("FROZEN", Read(m, "freezer", "freezer.state"));
        Assert.Contains(CgroupTestScope.ProcState(p.Id), "DT"); // frozen tasks sleep in the freezer (D, or T on new kernels)
        m.Thaw();
        Assert.False(m.IsFrozen);
        Assert.Equal("THAWED", Read(m, "freezer", "freezer.state"));

        var stats = m.Stats();
        Assert.Equal(1UL, stats.Pids.Current);
        Assert.True(stats.Memory.Usage.Limit > 0);
        var json = System.Text.Json.JsonSerializer.Serialize(stats, Berth.Linux.Cgroups.Stats.CgroupStatsJsonContext.Default.CgroupStats);
        Assert.Contains("\"pids\":{\"current\":1", json);

        // Reopened from the saved paths (a later "berth-runtime kill --all")
        var again = CgroupManager.Reopen(m.Paths);
        Assert.True(again.Exists());
        Assert.Equal([p.Id], again.Pids());
        p.Kill();
        p.WaitForExit();
        again.Destroy(); // retries EBUSY while the killed task is being released
        Assert.False(m.Exists());
    }

    [Fact]
    public void Pids_limit_stops_forks()
    {
        if (!V1Host) return;
        using var scope = new CgroupTestScope();
        var m = CgroupManager.Open(scope.Path("c3"));
        m.Create();
        m.Apply(new LinuxResources { Pids = new LinuxPids { Limit = 5 } });
        var p = scope.Start("/bin/busybox", "sh", "-c", "read go; for i in $(seq 20); do sleep 5 & done; echo done; wait");
        m.AddProcess(p.Id);
        p.StandardInput.WriteLine("go");
        p.StandardInput.Flush();
        // A non-interactive shell gives up at the first failed fork.
        Assert.Contains("can't fork", p.StandardError.ReadLine());
        Assert.InRange(m.Pids().Count, 1, 5); // the shell (until it exits) and the sleeps it could start
        Assert.True(CgroupTestScope.Eventually(() => m.Pids().Count <= 4 && p.HasExited));
        Assert.NotEqual(0, p.ExitCode);
        Assert.Equal(5UL, m.Stats().Pids.Limit);
        var events = File.ReadAllText(Path.Combine(m.PathFor("pids")!, "pids.events"));
        Assert.DoesNotContain("max 0", events);
    }

    [Fact]
    public void Memory_limit_oom_kills_an_allocator()
    {
        if (!V1Host) return;
        using var scope = new CgroupTestScope();
        var m = CgroupManager.Open(scope.Path("c4"));
        m.Create();
        m.Apply(new LinuxResources { Memory = new LinuxMemory { Limit = 16 << 20, Swap = 16 << 20 } });
        Assert.Equal(0UL, m.OomKillCount());
        // dd reads 256 MiB of zeros into one buffer: every page of it gets touched.
        var p = scope.Start("/bin/busybox", "sh", "-c", "read go; exec dd if=/dev/zero of=/dev/null bs=256M count=1");
        m.AddProcess(p.Id);
        p.StandardInput.WriteLine("go");
        p.StandardInput.Flush();
        Assert.True(p.WaitForExit(20000));
        Assert.Equal(137, p.ExitCode); // SIGKILL
        Assert.True(m.OomKillCount() >= 1);
        var st = m.Stats().Memory;
        Assert.Equal(16UL << 20, st.Usage.Max); // it reached the limit (failcnt stays 0 when memsw is limited too)
        Assert.Equal(16UL << 20, st.Usage.Limit);
    }

    [Fact]
    public void Bad_values_give_one_line_errors()
    {
        if (!V1Host) return;
        using var scope = new CgroupTestScope();
        var m = CgroupManager.Open(scope.Path("c5"));
        m.Create();
        var e = Assert.Throws<CgroupException>(() => m.Apply(new LinuxResources { Cpu = new LinuxCpu { Cpus = "99-100" } }));
        Assert.Matches(@"^cpuset\.cpus=99-100: (Numerical result out of range|Invalid argument) \(/sys/fs/cgroup/cpuset/berth-test-\w+/c5\)$", e.Message);
        Assert.DoesNotContain("\n", e.Message);

        e = Assert.Throws<CgroupException>(() => m.Apply(new LinuxResources { Unified = new() { ["memory.high"] = "1M" } }));
        if (scope.Layout.Mode == CgroupMode.V1) Assert.Contains("not supported on a cgroup v1 host", e.Message);
        else Assert.StartsWith("memory.high=1M: no such cgroup file", e.Message);

        // memory in use above the new limit: a process holds 32 MiB (dd's buffer, blocked writing to a full pipe)
        var p = scope.Start("/bin/busybox", "sh", "-c", "read go; exec dd if=/dev/zero bs=32M count=1");
        m.AddProcess(p.Id);
        p.StandardInput.WriteLine("go");
        p.StandardInput.Flush();
        var mem = m.PathFor("memory")!;
        Assert.True(CgroupTestScope.Eventually(() => ulong.Parse(File.ReadAllText(Path.Combine(mem, "memory.usage_in_bytes"))) > 30 << 20));
        e = Assert.Throws<CgroupException>(() => m.Apply(new LinuxResources { Memory = new LinuxMemory { Limit = 4 << 20 } }));
        Assert.StartsWith($"memory.limit_in_bytes={4 << 20}: Device or resource busy", e.Message);
        Assert.Equal(16, e.ErrorCode);
    }

    [Fact]
    public void Relative_path_lands_under_own_cgroup()
    {
        if (!V1Host) return;
        using var scope = new CgroupTestScope();
        var rel = scope.Parent.TrimStart('/') + "/rel";
        var m = CgroupManager.Open(rel);
        var self = CgroupLayout.ReadSelfCgroup();
        foreach (var h in scope.Layout.Hierarchies)
        {
            var own = CgroupLayout.PathIn(h, self) ?? "/";
            Assert.Equal(h.HostPath(CgroupPaths.Normalize(own + "/" + rel)), m.Paths[h.Key]);
            scope.AlsoRemove(h.HostPath(CgroupPaths.Normalize(own + scope.Parent)));
        }
        m.Create();
        Assert.True(m.Exists());
        m.Destroy();
        Assert.False(m.Exists());
        foreach (var h in scope.Layout.Hierarchies)
            Assert.False(Directory.Exists(h.HostPath(CgroupPaths.Normalize((CgroupLayout.PathIn(h, self) ?? "/") + scope.Parent))));
    }
}
