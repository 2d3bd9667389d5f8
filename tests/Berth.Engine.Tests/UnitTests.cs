using Berth.Engine.Api;
using Berth.Engine.Containers;

namespace Berth.Engine.Tests;

public sealed class UnitTests
{
    [Fact]
    public void VolumeStoreKeepsMetadataRefusesBadNamesAndFinishesAnInterruptedRemoval()
    {
        string root = Path.Combine(Path.GetTempPath(), "berth-vs-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var store = new Berth.Engine.Volumes.VolumeStore(root);
            var v = store.Create("data1", new Dictionary<string, string> { ["k"] = "v" }, null, null);
            Assert.Equal(Path.Combine(root, "volumes", "data1", "_data"), v.Mountpoint);
            Assert.Equal("v", store.Get("data1")!.Labels["k"]);
            Assert.False(v.Anonymous);
            // an existing name comes back as it was, new labels or not
            Assert.Equal("v", store.Create("data1", null, "local", null).Labels["k"]);
            string generated = store.Create(null, null, null, null).Name;
            Assert.Matches("^[0-9a-f]{64}$", generated);
            store.EnsureAnonymous("anon1");
            Assert.True(store.Get("anon1")!.Anonymous);
            Assert.Equal(new[] { "anon1", "data1", generated }.Order(StringComparer.Ordinal), store.List().Select(x => x.Name));
            Assert.Equal(400, Assert.Throws<EngineException>(() => store.Create("../x", null, null, null)).Status);
            Assert.Equal(404, Assert.Throws<EngineException>(() => store.Create("y1", null, "nfs", null)).Status);
            Assert.Null(store.Get("../volumes"));
            // a removal cut short by a crash: the next store's first listing finishes it
            Directory.CreateDirectory(Path.Combine(root, "volumes", ".removing-data2-0123", "_data", "deep"));
            var next = new Berth.Engine.Volumes.VolumeStore(root);
            Assert.DoesNotContain(next.List(), x => x.Name.Contains("removing"));
            Assert.False(Directory.Exists(Path.Combine(root, "volumes", ".removing-data2-0123")));
            Assert.True(next.Remove("data1"));
            Assert.False(next.Remove("data1"));
            Assert.False(Directory.Exists(Path.Combine(root, "volumes", "data1")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Theory]
    [InlineData("{\"name\":{\"web\":true},\"status\":{\"running\":true}}")]
    [InlineData("{\"name\":[\"web\"],\"status\":[\"running\"]}")]
    public void FiltersAcceptBothEncodings(string json)
    {
        var f = Filters.Parse(json);
        Assert.Equal(["web"], f.Values("name"));
        Assert.Equal(["running"], f.Values("status"));
        Assert.False(f.Has("label"));
    }

    [Fact]
    public void BadFiltersAreBadRequests()
    {
        Assert.Equal(400, Assert.Throws<EngineException>(() => Filters.Parse("{nope")).Status);
        Assert.Equal(400, Assert.Throws<EngineException>(() => Filters.Parse("{\"a\":1}")).Status);
    }

    [Theory]
    [InlineData("KILL", 9)] [InlineData("SIGTERM", 15)] [InlineData("hup", 1)] [InlineData("WINCH", 28)] [InlineData("10", 10)] [InlineData("RTMIN+2", 36)]
    public void Signals(string name, int n) => Assert.Equal(n, ContainerService.ParseSignal(name));

    [Fact]
    public void UnknownSignal() => Assert.Contains("Invalid signal", Assert.Throws<EngineException>(() => ContainerService.ParseSignal("NOPE")).Message);

    [Theory]
    [InlineData(0.5, "Less than a second")] [InlineData(1, "1 second")] [InlineData(17, "17 seconds")] [InlineData(70, "About a minute")]
    [InlineData(600, "10 minutes")] [InlineData(3600, "About an hour")] [InlineData(7200, "2 hours")] [InlineData(3 * 86400, "3 days")]
    public void HumanDurations(double seconds, string text) => Assert.Equal(text, ContainerService.HumanDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Rfc3339NanoTrimsZeros()
    {
        Assert.Equal("2026-11-28T23:31:01.8657656Z", ContainerService.Rfc3339(new DateTime(2026, 11, 28, 23, 31, 1, DateTimeKind.Utc).AddTicks(8657656)));
        Assert.Equal("2026-11-28T23:31:01Z", ContainerService.Rfc3339(new DateTime(2026, 11, 28, 23, 31, 1, DateTimeKind.Utc)));
        Assert.Equal("2026-11-28T23:31:01.5Z", ContainerService.Rfc3339(new DateTime(2026, 11, 28, 23, 31, 1, 500, DateTimeKind.Utc)));
    }

    [Theory]
    [InlineData("1.51", null)] [InlineData("1.24", null)] [InlineData("1.52", "too new")] [InlineData("1.12", "too old")] [InlineData("x", "invalid")]
    public void Versions(string v, string? error)
    {
        var e = DockerApi.VersionError(v);
        if (error is null) Assert.Null(e); else Assert.Contains(error, e);
    }

    [Fact]
    public void CapabilitiesFollowDockerAndTheFlags()
    {
        var caps = SpecBuilder.Capabilities(new HostConfig());
        Assert.Equal(14, caps.Count);
        Assert.DoesNotContain("CAP_SYS_ADMIN", caps);
        caps = SpecBuilder.Capabilities(new HostConfig { CapAdd = ["SYS_ADMIN"], CapDrop = ["NET_RAW"] });
        Assert.Contains("CAP_SYS_ADMIN", caps);
        Assert.DoesNotContain("CAP_NET_RAW", caps);
        Assert.Empty(SpecBuilder.Capabilities(new HostConfig { CapDrop = ["ALL"] }));
        Assert.Equal(400, Assert.Throws<EngineException>(() => SpecBuilder.Capabilities(new HostConfig { CapAdd = ["BOGUS"] })).Status);
    }

    [Fact]
    public void SpecHasDockersDefaults()
    {
        var r = new ContainerRecord { Id = new string('a', 64), Path = "sh", Config = new ContainerConfig { Env = ["A=b"] } };
        var spec = SpecBuilder.Build(r, "/nonexistent-rootfs", "/berth", "/tmp");
        Assert.Equal(["sh"], spec.Process!.Args);
        Assert.Equal("aaaaaaaaaaaa", spec.Hostname);
        Assert.Contains("/proc/kcore", spec.Linux!.MaskedPaths!);
        Assert.Contains("/proc/sys", spec.Linux.ReadonlyPaths!);
        Assert.NotNull(spec.Linux.Seccomp);
        Assert.Equal("/berth/" + r.Id, spec.Linux.CgroupsPath);
        Assert.Contains(spec.Linux.Namespaces!, n => n.Type == "network");
        var host = SpecBuilder.Build(new ContainerRecord { Id = r.Id, Path = "sh", HostConfig = new HostConfig { NetworkMode = "host", Privileged = true } }, "/x", "/berth", "/tmp");
        Assert.DoesNotContain(host.Linux!.Namespaces!, n => n.Type == "network");
        Assert.Null(host.Linux.Seccomp);
        Assert.Null(host.Linux.MaskedPaths);
    }

    [Theory]
    [InlineData("10m", 10L * 1024 * 1024)] [InlineData("1k", 1024)] [InlineData("100", 100)] [InlineData("1g", 1L << 30)]
    public void Sizes(string s, long n) => Assert.Equal(n, ContainerService.ParseSize(s));
}
