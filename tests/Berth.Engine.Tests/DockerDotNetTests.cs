using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.Engine.Tests;

/// <summary>
/// berthd through Docker.DotNet (the Enhanced 4.x line, written for API 1.5x): an independent
/// client with its own models, URL building and stream demultiplexing, so it catches JSON shapes,
/// headers and status codes that the docker CLI happens to tolerate.
/// </summary>
public sealed class DockerDotNetTests : IClassFixture<DaemonFixture>, IDisposable
{
    private readonly DaemonFixture _d;
    private readonly DockerClient _c;
    private readonly List<string> _made = [];
    private static readonly CancellationToken None = CancellationToken.None;

    public DockerDotNetTests(DaemonFixture d)
    {
        _d = d;
        _c = new DockerClientBuilder().WithEndpoint(new Uri(d.DockerHost)).WithApiVersion(new System.Version(1, 51)).Build();
    }

    public void Dispose()
    {
        foreach (var id in _made)
        {
            try { _c.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }, None).GetAwaiter().GetResult(); }
            catch (DockerContainerNotFoundException) { }
        }
        _c.Dispose();
    }

    private static string Name() => "dn" + Guid.NewGuid().ToString("N")[..10];

    private async Task<string> Create(string name, IList<string> cmd, IDictionary<string, string>? labels = null, IList<string>? env = null)
    {
        var r = await _c.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = name, Image = "busybox", Cmd = cmd, Labels = labels, Env = env,
            HostConfig = new HostConfig { NetworkMode = "none" },
        }, None);
        Assert.Matches("^[0-9a-f]{64}$", r.ID);
        _made.Add(r.ID);
        return r.ID;
    }

    private async Task<string> RunSleeping(string name, IDictionary<string, string>? labels = null)
    {
        string id = await Create(name, ["sleep", "1000"], labels);
        Assert.True(await _c.Containers.StartContainerAsync(id, new ContainerStartParameters(), None));
        return id;
    }

    [Fact]
    public async Task PingVersionAndInfo()
    {
        await _c.System.PingAsync(None);
        var v = await _c.System.GetVersionAsync(None);
        Assert.Equal("1.51", v.APIVersion);
        Assert.Equal("1.24", v.MinAPIVersion);
        Assert.Equal("linux", v.Os);
        Assert.Equal("amd64", v.Arch);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), v.KernelVersion);
        Assert.Contains(v.Components, x => x.Name == "Engine" && x.Version == v.Version);
        var info = await _c.System.GetSystemInfoAsync(None);
        Assert.Equal("linux", info.OSType);
        Assert.Equal(Environment.ProcessorCount, (int)info.NCPU);
        Assert.True(info.Images >= 2, $"{info.Images} images");
    }

    [Fact]
    public async Task CreateStartWaitAndLogsKeepTheStreamsApart()
    {
        string name = Name();
        string id = await Create(name, ["sh", "-c", "echo out1; echo err1 >&2; echo out2; exit 3"]);
        var before = await _c.Containers.InspectContainerAsync(id, None);
        Assert.Equal("created", before.State.Status);
        Assert.False(before.State.Running);

        Assert.True(await _c.Containers.StartContainerAsync(id, new ContainerStartParameters(), None));
        var wait = await _c.Containers.WaitContainerAsync(id, None);
        Assert.Equal(3, wait.StatusCode);

        using var logs = await _c.Containers.GetContainerLogsAsync(id, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, None);
        var (stdout, stderr) = await logs.ReadOutputToEndAsync(None);
        Assert.Equal("out1\nout2\n", stdout);
        Assert.Equal("err1\n", stderr);

        using var tail = await _c.Containers.GetContainerLogsAsync(id, new ContainerLogsParameters { ShowStdout = true, Tail = "1", Timestamps = true }, None);
        var (lastOut, noErr) = await tail.ReadOutputToEndAsync(None);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z out2\n$", lastOut);
        Assert.Equal("", noErr);

        var after = await _c.Containers.InspectContainerAsync(id, None);
        Assert.Equal("exited", after.State.Status);
        Assert.Equal(3, after.State.ExitCode);
        Assert.True(DateTime.Parse(after.State.FinishedAt).ToUniversalTime() >= DateTime.Parse(after.State.StartedAt).ToUniversalTime());
    }

    [Fact]
    public async Task ListWithFilters()
    {
        string tag = Guid.NewGuid().ToString("N")[..8];
        string runningName = Name(), createdName = Name();
        string running = await RunSleeping(runningName, new Dictionary<string, string> { ["suite"] = tag, ["role"] = "up" });
        string created = await Create(createdName, ["true"], new Dictionary<string, string> { ["suite"] = tag, ["role"] = "down" });

        async Task<List<string>> Ids(bool all, Dictionary<string, IDictionary<string, bool>> filters) =>
            (await _c.Containers.ListContainersAsync(new ContainersListParameters { All = all, Filters = filters }, None)).Select(x => x.ID).ToList();
        static Dictionary<string, IDictionary<string, bool>> F(params (string Key, string Value)[] kv) =>
            kv.GroupBy(x => x.Key).ToDictionary(g => g.Key, g => (IDictionary<string, bool>)g.ToDictionary(x => x.Value, _ => true));

        Assert.Equal([running], await Ids(false, F(("label", "suite=" + tag))));
        Assert.Equal(new[] { created, running }.Order(), (await Ids(true, F(("label", "suite=" + tag)))).Order());
        Assert.Equal([created], await Ids(true, F(("label", "suite=" + tag), ("status", "created"))));
        Assert.Equal([running], await Ids(true, F(("label", "role=up"), ("label", "suite=" + tag))));
        Assert.Equal([created], await Ids(true, F(("name", createdName))));
        Assert.Equal([running], await Ids(true, F(("id", running[..12]))));
        Assert.Empty(await Ids(true, F(("label", "suite=" + tag), ("status", "exited"))));

        var one = Assert.Single(await _c.Containers.ListContainersAsync(new ContainersListParameters { Filters = F(("id", running)) }, None));
        Assert.Equal(["/" + runningName], one.Names);
        Assert.Equal("busybox", one.Image);
        Assert.Equal("sleep 1000", one.Command);
        Assert.Equal("running", one.State);
        Assert.StartsWith("Up ", one.Status);
        Assert.Equal("up", one.Labels["role"]);
        Assert.StartsWith("sha256:", one.ImageID);
        Assert.True(DateTime.UtcNow - one.Created.ToUniversalTime() < TimeSpan.FromHours(1), $"created {one.Created:o}");

        var limited = await _c.Containers.ListContainersAsync(new ContainersListParameters { All = true, Limit = 1, Filters = F(("label", "suite=" + tag)) }, None);
        Assert.Equal([created], limited.Select(x => x.ID));
    }

    [Fact]
    public async Task InspectShowsConfigStateAndHostConfig()
    {
        string name = Name();
        string id = await Create(name, ["sleep", "1000"], new Dictionary<string, string> { ["k"] = "v" }, ["A=b"]);
        Assert.True(await _c.Containers.StartContainerAsync(id, new ContainerStartParameters(), None));
        var i = await _c.Containers.InspectContainerAsync(name, None);
        Assert.Equal(id, i.ID);
        Assert.Equal("/" + name, i.Name);
        Assert.Equal("sleep", i.Path);
        Assert.Equal(["1000"], i.Args);
        Assert.StartsWith("sha256:", i.Image);
        Assert.Equal("busybox", i.Config.Image);
        Assert.Equal(["sleep", "1000"], i.Config.Cmd);
        Assert.Contains("A=b", i.Config.Env);
        Assert.Equal("v", i.Config.Labels["k"]);
        Assert.Equal("none", i.HostConfig.NetworkMode);
        Assert.Equal("running", i.State.Status);
        Assert.True(i.State.Running);
        Assert.True(i.State.Pid > 0);
        Assert.Equal("sleep", File.ReadAllText($"/proc/{i.State.Pid}/comm").Trim());
        Assert.True(File.Exists(i.LogPath), i.LogPath);
        Assert.True(DateTime.UtcNow - i.Created.ToUniversalTime() < TimeSpan.FromHours(1));

        var byPrefix = await _c.Containers.InspectContainerAsync(id[..10], None);
        Assert.Equal(id, byPrefix.ID);
    }

    [Fact]
    public async Task ExecReportsOutputAndExitCode()
    {
        string id = await RunSleeping(Name());
        var e = await _c.Exec.CreateContainerExecAsync(id, new ContainerExecCreateParameters
        {
            Cmd = ["sh", "-c", "echo in-container $X; echo oops >&2; exit 5"], Env = ["X=42"], AttachStdout = true, AttachStderr = true,
        }, None);
        Assert.False(string.IsNullOrEmpty(e.ID));
        var before = await _c.Exec.InspectContainerExecAsync(e.ID, None);
        Assert.False(before.Running);
        Assert.Equal(id, before.ContainerID);

        using (var s = await _c.Exec.StartContainerExecAsync(e.ID, new ContainerExecStartParameters(), None))
        {
            var (stdout, stderr) = await s.ReadOutputToEndAsync(None);
            Assert.Equal("in-container 42\n", stdout);
            Assert.Equal("oops\n", stderr);
        }
        var after = await WaitExecDone(e.ID);
        Assert.False(after.Running);
        Assert.Equal(5, after.ExitCode);
        Assert.Equal("sh", after.ProcessConfig.Entrypoint);

        // (A detached start is not tried here: this client always hijacks, and dockerd, like berthd,
        // answers a detached start with a plain 200, which the client cannot hijack.)
        var noExec = await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => _c.Exec.InspectContainerExecAsync("no-such-exec", None));
        Assert.Contains("No such exec instance: no-such-exec", noExec.Message);
    }

    /// <summary>The exec's exit code is recorded as its stream ends: wait for it rather than race it.</summary>
    private async Task<ContainerExecInspectResponse> WaitExecDone(string execId)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var r = await _c.Exec.InspectContainerExecAsync(execId, None);
            if (!r.Running && r.ExitCode is not null || DateTime.UtcNow > until) return r;
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task StopKillAndRemove()
    {
        string id = await RunSleeping(Name());
        Assert.True(await _c.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = 1 }, None));
        var stopped = await _c.Containers.InspectContainerAsync(id, None);
        Assert.Equal("exited", stopped.State.Status);
        Assert.Equal(137, stopped.State.ExitCode); // sleep as PID 1 ignores SIGTERM: killed after the timeout
        Assert.False(await _c.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = 1 }, None)); // 304

        Assert.True(await _c.Containers.StartContainerAsync(id, new ContainerStartParameters(), None));
        Assert.True((await _c.Containers.InspectContainerAsync(id, None)).State.Running);
        await _c.Containers.KillContainerAsync(id, new ContainerKillParameters { Signal = "SIGKILL" }, None);
        Assert.Equal(137, (await _c.Containers.WaitContainerAsync(id, None)).StatusCode);

        var running = await RunSleeping(Name());
        var conflict = await Assert.ThrowsAsync<DockerApiException>(() => _c.Containers.RemoveContainerAsync(running, new ContainerRemoveParameters(), None));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        await _c.Containers.RemoveContainerAsync(running, new ContainerRemoveParameters { Force = true }, None);
        await _c.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters(), None);
        await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => _c.Containers.InspectContainerAsync(id, None));
        await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => _c.Containers.InspectContainerAsync(running, None));
    }

    [Fact]
    public async Task PauseAndUnpause()
    {
        string id = await RunSleeping(Name());
        int pid = (int)(await _c.Containers.InspectContainerAsync(id, None)).State.Pid;
        await _c.Containers.PauseContainerAsync(id, None);
        var paused = await _c.Containers.InspectContainerAsync(id, None);
        Assert.Equal("paused", paused.State.Status);
        Assert.True(paused.State.Paused);
        Assert.Equal("paused", Assert.Single(await _c.Containers.ListContainersAsync(new ContainersListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["id"] = new Dictionary<string, bool> { [id] = true } },
        }, None)).State);
        Assert.Contains(ProcState(pid), new[] { "D", "S" }); // frozen tasks sleep in the freezer
        await _c.Containers.UnpauseContainerAsync(id, None);
        var resumed = await _c.Containers.InspectContainerAsync(id, None);
        Assert.Equal("running", resumed.State.Status);
        Assert.False(resumed.State.Paused);
        // dockerd answers an unpause of a running container with a plain error: 500, not 409.
        var notPaused = await Assert.ThrowsAsync<DockerApiException>(() => _c.Containers.UnpauseContainerAsync(id, None));
        Assert.Equal(HttpStatusCode.InternalServerError, notPaused.StatusCode);
        Assert.Contains("is not paused", notPaused.Message);
        await _c.Containers.PauseContainerAsync(id, None);
        var twice = await Assert.ThrowsAsync<DockerApiException>(() => _c.Containers.PauseContainerAsync(id, None));
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        await _c.Containers.UnpauseContainerAsync(id, None);
    }

    private static string ProcState(int pid) => File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1][..1];

    [Fact]
    public async Task StatsOneShot()
    {
        string name = Name();
        string id = await RunSleeping(name);
        var got = new List<ContainerStatsResponse>();
        await _c.Containers.GetContainerStatsAsync(id, new ContainerStatsParameters { Stream = false, OneShot = true }, new Progress(got), None);
        var s = Assert.Single(got);
        Assert.Equal(id, s.ID);
        Assert.Equal("/" + name, s.Name);
        Assert.True(DateTime.UtcNow - s.Read.ToUniversalTime() < TimeSpan.FromMinutes(5), $"read {s.Read:o}");
        Assert.True(s.MemoryStats.Usage > 0, "memory usage");
        Assert.True(s.MemoryStats.Limit > 0, "memory limit");
        Assert.True(s.CPUStats.CPUUsage.TotalUsage > 0, "cpu usage");
        Assert.Equal(1UL, s.PidsStats.Current);
    }

    private sealed class Progress(List<ContainerStatsResponse> into) : IProgress<ContainerStatsResponse>
    {
        public void Report(ContainerStatsResponse value) { lock (into) into.Add(value); }
    }

    [Fact]
    public async Task ImagesListAndInspect()
    {
        var list = await _c.Images.ListImagesAsync(new ImagesListParameters(), None);
        var bb = Assert.Single(list, x => x.RepoTags?.Contains("busybox:latest") == true);
        Assert.StartsWith("sha256:", bb.ID);
        Assert.True(bb.Size > 0);
        var filtered = await _c.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["reference"] = new Dictionary<string, bool> { ["busybox"] = true } },
        }, None);
        Assert.Equal([bb.ID], filtered.Select(x => x.ID));

        var i = await _c.Images.InspectImageAsync("busybox:latest", None);
        Assert.Equal(bb.ID, i.ID);
        Assert.Contains("busybox:latest", i.RepoTags);
        Assert.Equal("linux", i.Os);
        Assert.Equal("amd64", i.Architecture);
        Assert.Equal(["sh"], i.Config.Cmd);
        Assert.Equal("layers", i.RootFS.Type);
        Assert.Single(i.RootFS.Layers);
        await Assert.ThrowsAsync<DockerImageNotFoundException>(() => _c.Images.InspectImageAsync("no-such-image:x", None));
    }

    [Fact]
    public async Task ErrorsAreDockersExceptions()
    {
        var nf = await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => _c.Containers.InspectContainerAsync("no-such-container", None));
        Assert.Equal(HttpStatusCode.NotFound, nf.StatusCode);
        Assert.Contains("No such container: no-such-container", nf.Message);
        await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => _c.Containers.StartContainerAsync("no-such-container", new ContainerStartParameters(), None));
        await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => _c.Containers.RemoveContainerAsync("no-such-container", new ContainerRemoveParameters(), None));

        var missingImage = await Assert.ThrowsAsync<DockerImageNotFoundException>(() =>
            _c.Containers.CreateContainerAsync(new CreateContainerParameters { Image = "no-such-image:x" }, None));
        Assert.Contains("no-such-image", missingImage.Message);

        string name = Name();
        await Create(name, ["true"]);
        var taken = await Assert.ThrowsAsync<DockerApiException>(() => Create(name, ["true"]));
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        Assert.Contains(name, taken.Message);
        Assert.Equal(1, (await _c.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true, Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [name] = true } },
        }, None)).Count);
    }
}
