using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Oci.Defaults;
using Berth.Oci.Runtime;

namespace Berth.Oci.Tests.Defaults;

public class RuncDefaultsTests
{
    [Fact]
    public void Spec_has_runcs_shape()
    {
        var s = RuncDefaults.Spec(rootless: false);
        Assert.Equal(new[] { "sh" }, s.Process!.Args);
        Assert.True(s.Process.Terminal);
        Assert.True(s.Process.NoNewPrivileges);
        Assert.Equal(new[] { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" }, s.Process.Capabilities!.Bounding);
        Assert.Null(s.Process.Capabilities.Inheritable);
        var nofile = Assert.Single(s.Process.Rlimits!);
        Assert.Equal(("RLIMIT_NOFILE", 1024ul, 1024ul), (nofile.Type, nofile.Hard, nofile.Soft));
        Assert.Equal(new[] { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup" }, s.Mounts!.Select(m => m.Destination));
        Assert.Equal(new[] { "pid", "network", "ipc", "uts", "mount" }, s.Linux!.Namespaces!.Select(n => n.Type));
        Assert.Contains("/proc/kcore", s.Linux.MaskedPaths!);
        Assert.Contains("/proc/sysrq-trigger", s.Linux.ReadonlyPaths!);
        Assert.Null(s.Linux.UidMappings);
    }

    [Fact]
    public void Rootless_spec_maps_the_given_ids_and_drops_the_network_namespace()
    {
        var s = RuncDefaults.Spec(rootless: true, hostUid: 1000, hostGid: 1001);
        Assert.Equal(new[] { "pid", "ipc", "uts", "mount", "user" }, s.Linux!.Namespaces!.Select(n => n.Type));
        var u = Assert.Single(s.Linux.UidMappings!);
        var g = Assert.Single(s.Linux.GidMappings!);
        Assert.Equal((0u, 1000u, 1u), (u.ContainerId, u.HostId, u.Size));
        Assert.Equal((0u, 1001u, 1u), (g.ContainerId, g.HostId, g.Size));
        Assert.Null(s.Linux.Resources);
        var sys = s.Mounts!.Single(m => m.Destination == "/sys");
        Assert.Equal(("none", "/sys"), (sys.Type, sys.Source));
        Assert.Contains("rbind", sys.Options!);
        Assert.DoesNotContain("gid=5", s.Mounts!.Single(m => m.Destination == "/dev/pts").Options!);
    }

    [Fact]
    public void Rootless_without_ids_uses_the_callers()
    {
        var (uid, gid) = RuncDefaults.CurrentIds();
        var expected = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:")).Split('\t', StringSplitOptions.RemoveEmptyEntries)[2];
        Assert.Equal(uint.Parse(expected), uid);
        var s = RuncDefaults.Spec(rootless: true);
        Assert.Equal(uid, s.Linux!.UidMappings![0].HostId);
        Assert.Equal(gid, s.Linux.GidMappings![0].HostId);
    }

    /// <summary>The installed runc 1.1.5 is the reference: its `runc spec` and ours are the same JSON.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Spec_equals_what_runc_spec_writes(bool rootless)
    {
        var theirs = JsonNode.Parse(RuncSpec.Json(rootless));
        var ours = JsonNode.Parse(JsonSerializer.Serialize(RuncDefaults.Spec(rootless), OciJsonContext.Default.Spec));
        Assert.True(JsonNode.DeepEquals(theirs, ours), $"runc:\n{theirs}\nberth:\n{ours}");
    }
}
