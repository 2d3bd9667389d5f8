using Berth.Linux.Cgroups;
using Berth.Linux.Cgroups.V2;
using Berth.Oci.Runtime;

namespace Berth.Linux.Tests.Cgroups;

/// <summary>
/// Restores the cgroup2 root's subtree_control after the class: creating a v2 cgroup enables the root's
/// controllers for its children, which this machine's hybrid layout does not otherwise do.
/// </summary>
public sealed class UnifiedRootFixture : IDisposable
{
    public CgroupHierarchy? Unified { get; } = CgroupLayout.Current.Unified;
    private readonly string[] _before;

    public UnifiedRootFixture() =>
        _before = Unified == null ? [] : Words(File.ReadAllText(Path.Combine(Unified.MountPoint, "cgroup.subtree_control")));

    /// <summary>The host's cgroup2 hierarchy seen as a pure-v2 layout, so the v2 manager is tested for real.</summary>
    public CgroupLayout V2Layout => new(CgroupMode.V2, [Unified!]);

    public void Dispose()
    {
        if (Unified == null) return;
        var file = Path.Combine(Unified.MountPoint, "cgroup.subtree_control");
        foreach (var c in Words(File.ReadAllText(file)).Except(_before))
            try { File.WriteAllText(file, "-" + c); } catch (IOException) { }
    }

    private static string[] Words(string s) => s.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
}

public class CgroupV2ManagerTests(UnifiedRootFixture root) : IClassFixture<UnifiedRootFixture>
{
    [Fact]
    public void Unified_hierarchy_create_move_freeze_stats_destroy()
    {
        if (root.Unified == null) return;
        using var scope = new CgroupTestScope(root.V2Layout);
        var m = CgroupManager.Open(scope.Path("c1"), root.V2Layout);
        Assert.IsType<CgroupV2Manager>(m);
        Assert.True(m.IsV2);
        m.Create();
        Assert.True(m.Exists());
        var dir = m.Paths["unified"];
        Assert.Equal(root.Unified.MountPoint + scope.Path("c1"), dir);
        // parents hand their controllers down
        var offered = File.ReadAllText(Path.Combine(root.Unified.MountPoint, "cgroup.controllers")).Trim();
        Assert.Equal(offered, File.ReadAllText(Path.Combine(dir, "cgroup.controllers")).Trim());

        var p = scope.Start("/bin/sleep", "30");
        m.AddProcess(p.Id);
        Assert.Equal([p.Id], m.Pids());
        Assert.Contains($"0::{scope.Path("c1")}\n", File.ReadAllText($"/proc/{p.Id}/cgroup"));

        m.Freeze();
        Assert.True(m.IsFrozen);
        Assert.Contains("frozen 1", File.ReadAllText(Path.Combine(dir, "cgroup.events")));
        m.Thaw();
        Assert.False(m.IsFrozen);

        var stats = m.Stats();
        var json = System.Text.Json.JsonSerializer.Serialize(stats, Berth.Linux.Cgroups.Stats.CgroupStatsJsonContext.Default.CgroupStats);
        Assert.Contains("\"cpu\":{\"usage\":{\"total\":", json);
        Assert.Equal(0UL, m.OomKillCount()); // no memory controller in v2 here: no memory.events, count 0

        Assert.Equal([new CgroupMountPoint("", dir, true, m.Layout.Unified!.Controllers)], m.MountPoints().ToArray(), new MountComparer());
        p.Kill();
        p.WaitForExit();
        m.Destroy();
        Assert.False(Directory.Exists(dir));
        Assert.False(Directory.Exists(root.Unified.MountPoint + scope.Parent));
    }

    [Fact]
    public void Unified_map_hugetlb_and_errors()
    {
        if (root.Unified == null) return;
        using var scope = new CgroupTestScope(root.V2Layout);
        var m = CgroupManager.Open(scope.Path("c2"), root.V2Layout);
        m.Create();
        var dir = m.Paths["unified"];
        m.Apply(new LinuxResources { Unified = new() { ["cgroup.max.descendants"] = "3" } });
        Assert.Equal("3", File.ReadAllText(Path.Combine(dir, "cgroup.max.descendants")).Trim());

        var e = Assert.Throws<CgroupException>(() => m.Apply(new LinuxResources { Unified = new() { ["foo.bar"] = "1" } }));
        Assert.StartsWith("foo.bar=1: no such cgroup file (controller \"foo\" unknown or not enabled)", e.Message);
        e = Assert.Throws<CgroupException>(() => m.Apply(new LinuxResources { Unified = new() { ["../cgroup.procs"] = "1" } }));
        Assert.Contains("not a cgroup file name", e.Message);
        e = Assert.Throws<CgroupException>(() => m.Apply(new LinuxResources { Unified = new() { ["cgroup.max.depth"] = "lots" } }));
        Assert.StartsWith("cgroup.max.depth=lots: Invalid argument", e.Message);

        if (File.Exists(Path.Combine(dir, "hugetlb.2MB.max")))
        {
            m.Apply(new LinuxResources { HugepageLimits = [new LinuxHugepageLimit { PageSize = "2MB", Limit = 4 << 21 }] });
            Assert.Equal((4 << 21).ToString(), File.ReadAllText(Path.Combine(dir, "hugetlb.2MB.max")).Trim());
            Assert.True(m.Stats().Hugetlb.ContainsKey("2MB"));
        }
        // A controller bound to v1 here is missing in v2: the error names the file.
        if (!File.Exists(Path.Combine(dir, "memory.max")))
        {
            e = Assert.Throws<CgroupException>(() => m.Apply(new LinuxResources { Memory = new LinuxMemory { Limit = 1 << 24 } }));
            Assert.StartsWith($"memory.max={1 << 24}: No such file or directory", e.Message);
        }
        m.Destroy();
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Device_rules_become_an_ebpf_filter()
    {
        if (root.Unified == null) return;
        using var scope = new CgroupTestScope(root.V2Layout);
        var m = CgroupManager.Open(scope.Path("c3"), root.V2Layout);
        m.Create();
        m.Apply(new LinuxResources
        {
            Devices =
            [
                new LinuxDeviceCgroup { Allow = false, Access = "rwm" },
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },  // /dev/null
                new LinuxDeviceCgroup { Allow = true, Type = "c", Major = 1, Minor = null, Access = "r" }, // 1:* read only
                new LinuxDeviceCgroup { Allow = false, Type = "c", Major = 1, Minor = 8, Access = "r" },   // but not /dev/random
            ],
        });
        const string script = """
            read go
            try() { if eval "$1" 2>/dev/null; then echo "$2 ok"; else echo "$2 denied"; fi; }
            try 'echo x > /dev/null' null-write
            try 'head -c1 /dev/zero > /dev/null' zero-read
            try 'echo x > /dev/zero' zero-write
            try 'head -c1 /dev/random > /dev/null' random-read
            try 'head -c1 /dev/urandom > /dev/null' urandom-read
            """;
        string Run()
        {
            var p = scope.Start("/bin/busybox", "sh", "-c", script);
            m.AddProcess(p.Id);
            p.StandardInput.WriteLine("go");
            p.StandardInput.Close();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return output;
        }
        Assert.Equal("null-write ok\nzero-read ok\nzero-write denied\nrandom-read denied\nurandom-read ok\n", Run());

        // An update replaces the filter rather than stacking a second one.
        m.Apply(new LinuxResources { Devices = [new LinuxDeviceCgroup { Allow = true, Type = "a", Access = "rwm" }] });
        Assert.Equal("null-write ok\nzero-read ok\nzero-write ok\nrandom-read ok\nurandom-read ok\n", Run());
        m.Destroy();
    }

    [Fact]
    public void Device_program_layout()
    {
        var rules = new[] { new DeviceRule(false, 'a', null, null, "rwm"), new DeviceRule(true, 'c', 1, 3, "rwm") };
        var prog = DeviceFilterProgram.Compile(rules);
        // 6 prologue + (type, major, minor, r0, exit) + (r0, exit); "deny a" matches all, so no default after it
        Assert.Equal((6 + 5 + 2) * 8, prog.Length);
        Assert.Equal((6 + 5 + 2) * 8, DeviceFilterProgram.Compile([rules[1]]).Length); // default deny instead
        Assert.Equal(0x95, prog[^8]); // ends in exit
    }

    /// <summary>The v2 file-writing logic against plain files, for the controllers this host's kernel cannot show in v2.</summary>
    [Fact]
    public void Writer_renders_v2_files()
    {
        var dir = Directory.CreateTempSubdirectory("berth-cg-v2-").FullName;
        try
        {
            foreach (var f in new[] { "memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max", "cpu.max.burst", "cpuset.cpus",
                         "cpuset.mems", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max" })
                File.WriteAllText(Path.Combine(dir, f), "");
            File.WriteAllText(Path.Combine(dir, "cpu.max"), "max 100000\n");
            V2ResourceWriter.Apply(dir, new LinuxResources
            {
                Memory = new LinuxMemory { Limit = 100 << 20, Reservation = 50 << 20, Swap = 300 << 20, Kernel = 1, Swappiness = 5 },
                Cpu = new LinuxCpu { Shares = 1024, Quota = 50000, Burst = 1000, Cpus = "0-1", Mems = "0" },
                Pids = new LinuxPids { Limit = -1 },
                BlockIo = new LinuxBlockIo { Weight = 500, ThrottleWriteBpsDevice = [new LinuxThrottleDevice { Major = 8, Minor = 0, Rate = 1000 }] },
                HugepageLimits = [new LinuxHugepageLimit { PageSize = "2MB", Limit = 2097152 }],
            });
            string R(string f) => File.ReadAllText(Path.Combine(dir, f));
            Assert.Equal((100 << 20).ToString(), R("memory.max"));
            Assert.Equal((50 << 20).ToString(), R("memory.low"));
            Assert.Equal((200 << 20).ToString(), R("memory.swap.max")); // memory+swap 300M - memory 100M
            Assert.Equal("39", R("cpu.weight"));
            Assert.Equal("50000 100000", R("cpu.max")); // period kept from the file
            Assert.Equal("1000", R("cpu.max.burst"));
            Assert.Equal("0-1", R("cpuset.cpus"));
            Assert.Equal("max", R("pids.max"));
            Assert.Equal("4950", R("io.weight"));
            Assert.Equal("8:0 wbps=1000", R("io.max"));
            Assert.Equal("2097152", R("hugetlb.2MB.max"));

            V2ResourceWriter.Apply(dir, new LinuxResources { Cpu = new LinuxCpu { Quota = -1, Period = 20000 }, Memory = new LinuxMemory { Limit = -1 } });
            Assert.Equal("max 20000", R("cpu.max"));
            Assert.Equal("max", R("memory.max"));
            Assert.Throws<CgroupException>(() => V2ResourceWriter.Apply(dir, new LinuxResources { Cpu = new LinuxCpu { RealtimeRuntime = 1000 } }));

            File.WriteAllText(Path.Combine(dir, "memory.current"), "5000\n");
            var e = Assert.Throws<CgroupException>(() => V2ResourceWriter.Apply(dir, new LinuxResources { Memory = new LinuxMemory { Limit = 4096, CheckBeforeUpdate = true } }));
            Assert.StartsWith("memory.max=4096: below the current usage 5000", e.Message);
            V2ResourceWriter.Apply(dir, new LinuxResources { Memory = new LinuxMemory { Limit = 4096 } });
            Assert.Equal("4096", R("memory.max"));
        }
        finally { Directory.Delete(dir, true); }
    }

    private sealed class MountComparer : IEqualityComparer<CgroupMountPoint>
    {
        public bool Equals(CgroupMountPoint? a, CgroupMountPoint? b) =>
            a!.Name == b!.Name && a.HostPath == b.HostPath && a.IsV2 == b.IsV2 && a.Controllers.SequenceEqual(b.Controllers);
        public int GetHashCode(CgroupMountPoint m) => m.HostPath.GetHashCode();
    }
}
