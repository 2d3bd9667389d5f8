using Berth.Linux.Cgroups;
using Berth.Oci.Runtime;

namespace Berth.Linux.Tests.Cgroups;

/// <summary>Pure logic: no kernel involved.</summary>
public class CgroupLogicTests
{
    private const string HybridMountInfo = """
        25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup cgroup rw,xattr,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
        """;

    [Fact]
    public void MountInfo_parses_optional_fields_and_escapes()
    {
        var e = MountInfo.Parse("36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n");
        var m = Assert.Single(e);
        Assert.Equal("/mnt two", m.MountPoint);
        Assert.Equal("/mnt1", m.Root);
        Assert.Equal("ext3", m.FsType);
        Assert.Equal(["rw", "errors=continue"], m.SuperOptions);
    }

    [Fact]
    public void Layout_detects_hybrid()
    {
        var l = CgroupLayout.Detect(MountInfo.Parse(HybridMountInfo));
        Assert.Equal(CgroupMode.Hybrid, l.Mode);
        Assert.Equal(6, l.Hierarchies.Count);
        Assert.Equal("/sys/fs/cgroup/unified", l.Unified!.MountPoint);
        var sd = l.Hierarchies.Single(h => h.NamedHierarchy == "systemd");
        Assert.Equal(["name=systemd"], sd.Controllers); // "xattr" is an option, not a controller
        Assert.Equal("systemd", sd.Name);
        Assert.Equal("name=systemd", sd.Key);
    }

    [Fact]
    public void Layout_detects_pure_v2_and_pure_v1()
    {
        var v2 = CgroupLayout.Detect(MountInfo.Parse("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"),
            _ => ["cpu", "memory", "pids"]);
        Assert.Equal(CgroupMode.V2, v2.Mode);
        Assert.Equal(["cpu", "memory", "pids"], v2.Unified!.Controllers);

        var v1 = CgroupLayout.Detect(MountInfo.Parse("""
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct,cpu
            33 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct,cpu
            35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory
            """));
        Assert.Equal(CgroupMode.V1, v1.Mode);
        Assert.Equal(2, v1.Hierarchies.Count); // the duplicate mount of cpu,cpuacct counts once
        Assert.Equal("cpu,cpuacct", v1.Hierarchies[0].Key);
        // A mount whose root is a deeper cgroup (cgroup namespace, bind mount) maps paths below that root.
        Assert.Equal("/sys/fs/cgroup/memory/x", v1.Hierarchies[1].HostPath("/docker/abc/x"));
        Assert.Equal("/sys/fs/cgroup/memory", v1.Hierarchies[1].HostPath("/docker/abc"));
    }

    [Fact]
    public void ProcCgroup_parses_v1_v2_and_colons_in_paths()
    {
        var e = CgroupLayout.ParseProcCgroup("12:cpu,cpuacct:/a\n1:name=systemd:/user.slice\n0::/x:y\n");
        Assert.Equal(["cpu", "cpuacct"], e[0].Controllers);
        Assert.Equal("/user.slice", e[1].Path);
        Assert.True(e[2].IsV2);
        Assert.Equal("/x:y", e[2].Path);

        var l = CgroupLayout.Detect(MountInfo.Parse(HybridMountInfo));
        Assert.Equal("/user.slice", CgroupLayout.PathIn(l.Hierarchies.Single(h => h.Key == "name=systemd"), e));
        Assert.Equal("/x:y", CgroupLayout.PathIn(l.Unified!, e));
        Assert.Null(CgroupLayout.PathIn(l.Hierarchies.Single(h => h.Key == "memory"), e));
    }

    [Theory]
    [InlineData("/berth/c1", "/user.slice", "/berth/c1")]
    [InlineData("berth/c1", "/user.slice", "/user.slice/berth/c1")]
    [InlineData("berth/c1", "/", "/berth/c1")]
    [InlineData("../../etc", "/own", "/own/etc")] // relative paths cannot climb out of the caller's cgroup
    [InlineData("/a/../../b/./c/", "/", "/b/c")]
    public void Paths_resolve_like_runc(string cgroupsPath, string own, string expected) =>
        Assert.Equal(expected, CgroupPaths.Resolve(cgroupsPath, own));

    [Fact]
    public void Open_resolves_relative_paths_per_hierarchy()
    {
        var l = CgroupLayout.Detect(MountInfo.Parse(HybridMountInfo));
        var self = CgroupLayout.ParseProcCgroup("4:memory:/process_api/p1\n9:name=systemd:/\n0::/init.scope\n");
        var m = CgroupManager.Open("berth/c1", l, self);
        Assert.Equal("/sys/fs/cgroup/memory/process_api/p1/berth/c1", m.Paths["memory"]);
        Assert.Equal("/sys/fs/cgroup/systemd/berth/c1", m.Paths["name=systemd"]);
        Assert.Equal("/sys/fs/cgroup/unified/init.scope/berth/c1", m.Paths["unified"]);
        Assert.Equal("/sys/fs/cgroup/cpu/berth/c1", m.PathFor("cpu")); // absent from /proc/self/cgroup: root
        Assert.Equal(m.Paths, CgroupManager.Reopen(m.Paths, l).Paths);
        var mounts = m.MountPoints();
        Assert.Contains(mounts, x => x.Name == "systemd" && !x.IsV2);
        Assert.Contains(mounts, x => x.Name == "unified" && x.IsV2 && x.HostPath == "/sys/fs/cgroup/unified/init.scope/berth/c1");
    }

    [Theory]
    [InlineData(0UL, 0UL)]
    [InlineData(2UL, 1UL)]
    [InlineData(1024UL, 39UL)]
    [InlineData(262144UL, 10000UL)]
    [InlineData(1UL, 1UL)]
    [InlineData(1_000_000UL, 10000UL)]
    public void Shares_to_weight(ulong shares, ulong weight) => Assert.Equal(weight, CgroupConversions.SharesToWeight(shares));

    [Theory]
    [InlineData(10UL, 1UL)]
    [InlineData(500UL, 4950UL)]
    [InlineData(1000UL, 10000UL)]
    public void Blkio_weight_to_io_weight(ulong w, ulong io) => Assert.Equal(io, CgroupConversions.BlkioWeightToIoWeight(w));

    [Fact]
    public void Swap_conversion()
    {
        Assert.Null(CgroupConversions.SwapToV2(null, 100));
        Assert.Null(CgroupConversions.SwapToV2(0, 100));
        Assert.Equal("max", CgroupConversions.SwapToV2(-1, 100));
        Assert.Equal("0", CgroupConversions.SwapToV2(100, 100));
        Assert.Equal("156", CgroupConversions.SwapToV2(256, 100));
        Assert.Throws<CgroupException>(() => CgroupConversions.SwapToV2(50, 100));
        Assert.Throws<CgroupException>(() => CgroupConversions.SwapToV2(50, null));
    }

    [Fact]
    public void Device_rules_render_for_v1()
    {
        string R(bool allow, string? type, long? major, long? minor, string? access) =>
            DeviceRules.RenderV1(DeviceRules.Normalize(new LinuxDeviceCgroup { Allow = allow, Type = type, Major = major, Minor = minor, Access = access }));
        Assert.Equal("a", R(false, "a", null, null, "rwm"));
        Assert.Equal("a", R(false, null, null, null, null));
        Assert.Equal("c 1:3 rwm", R(true, "c", 1, 3, "rwm"));
        Assert.Equal("c *:* m", R(true, "c", null, -1, "m"));
        Assert.Equal("b 8:* r", R(true, "b", 8, null, "r"));
        Assert.Throws<CgroupException>(() => R(true, "x", 1, 3, "rwm"));
        Assert.Throws<CgroupException>(() => R(true, "c", 1, 3, "rwx"));
    }

    [Fact]
    public void Page_size_names() 
    {
        Assert.Equal("2MB", Berth.Linux.Cgroups.Stats.StatsParsing.PageSizeName(2048 * 1024));
        Assert.Equal("1GB", Berth.Linux.Cgroups.Stats.StatsParsing.PageSizeName(1UL << 30));
        Assert.Equal("64KB", Berth.Linux.Cgroups.Stats.StatsParsing.PageSizeName(65536));
    }
}
