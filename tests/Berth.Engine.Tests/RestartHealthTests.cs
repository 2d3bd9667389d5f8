using System.Diagnostics;

namespace Berth.Engine.Tests;

/// <summary>Restart policies (with docker's back-off and the daemon-start rules) and health checks, through the docker CLI.</summary>
public sealed class RestartHealthTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private static string Name() => "rh" + Guid.NewGuid().ToString("N")[..10];

    private string Inspect(string name, string format) => d.Docker("inspect", "-f", format, name).Stdout.Trim();

    /// <summary>Waits for a condition (no fixed sleeps); fails with what was last seen.</summary>
    private static void WaitFor(Func<bool> cond, string what, int seconds = 60)
    {
        var sw = Stopwatch.StartNew();
        while (!cond())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) Assert.Fail($"timed out waiting for {what}");
            Thread.Sleep(50);
        }
    }

    [Fact]
    public void OnFailureRestartsUpToItsLimitWithRestartEvents()
    {
        string n = Name();
        long since = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        DockerCliTests.Ok(d.Docker("run", "-d", "--name", n, "--restart", "on-failure:3", "busybox", "sh", "-c", "exit 2"));
        WaitFor(() => Inspect(n, "{{.RestartCount}} {{.State.Status}}") == "3 exited", "three restarts and then a stop");
        Assert.Equal("false 2", Inspect(n, "{{.State.Restarting}} {{.State.ExitCode}}"));
        var ev = d.Docker("events", "--since", since.ToString(), "--until", (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString(),
            "--filter", $"container={n}", "--filter", "event=restart", "--format", "{{.Action}}");
        Assert.Equal(3, ev.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        // a success does not count as a failure: no restart at all
        string ok = Name();
        DockerCliTests.Ok(d.Docker("run", "-d", "--name", ok, "--restart", "on-failure", "busybox", "true"));
        Assert.Equal("0", d.Docker("wait", ok).Stdout.Trim());
        Assert.Equal("0 exited", Inspect(ok, "{{.RestartCount}} {{.State.Status}}"));
        DockerCliTests.Ok(d.Docker("rm", n, ok));
    }

    [Fact]
    public void AlwaysRestartsUntilAUserStopsIt()
    {
        string n = Name();
        DockerCliTests.Ok(d.Docker("run", "-d", "--name", n, "--restart", "always", "busybox", "true"));
        // the back-off doubles (100, 200, 400 ms ...): a few restarts come quickly, and ps shows them
        WaitFor(() => int.TryParse(Inspect(n, "{{.RestartCount}}"), out var k) && k >= 3, "three restarts");
        var stop = d.Docker("stop", n);
        Assert.True(stop.Code == 0, stop.Stderr);
        var state = Inspect(n, "{{.State.Status}} {{.State.Restarting}} {{.RestartCount}}").Split(' ');
        Assert.Equal("exited", state[0]);
        Assert.Equal("false", state[1]);
        // no start comes after the stop: a `docker wait` on the next exit would only return if it ran again
        Assert.Equal(state[2], Inspect(n, "{{.RestartCount}}"));
        Assert.Contains("Exited (0)", d.Docker("ps", "-a", "--filter", $"name={n}").Stdout);
        // a user's start brings the policy back
        DockerCliTests.Ok(d.Docker("start", n));
        WaitFor(() => int.Parse(Inspect(n, "{{.RestartCount}}")) > int.Parse(state[2]), "a restart after the user's start");
        DockerCliTests.Ok(d.Docker("rm", "-f", n));
        Assert.Equal("", d.Docker("ps", "-aq", "--filter", $"name={n}").Stdout.Trim());
    }

    [Fact]
    public void DaemonStartRestartsAlwaysAndUnlessStoppedUnlessTheUserStoppedThem()
    {
        string always = Name(), alwaysStopped = Name(), unless = Name(), unlessStopped = Name(), none = Name();
        foreach (var (n, p) in new[] { (always, "always"), (alwaysStopped, "always"), (unless, "unless-stopped"), (unlessStopped, "unless-stopped"), (none, "no") })
            DockerCliTests.Ok(d.Docker("run", "-d", "--name", n, "--restart", p, "busybox", "sleep", "1000"));
        DockerCliTests.Ok(d.Docker("stop", "-t", "0", alwaysStopped, unlessStopped));
        var pids = new[] { always, unless, none }.Select(n => int.Parse(Inspect(n, "{{.State.Pid}}"))).ToList();
        // the daemon goes down and the host "reboots": shims and containers die with it
        d.KillDaemon();
        foreach (var dir in Directory.GetDirectories("/proc").Where(x => int.TryParse(Path.GetFileName(x), out _)))
        {
            try
            {
                string cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmd.Contains("berth-shim") && cmd.Contains(d.Root)) Process.GetProcessById(int.Parse(Path.GetFileName(dir))).Kill();
            }
            catch (Exception) { }
        }
        foreach (var pid in pids) { try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } }
        WaitFor(() => pids.All(p => !Directory.Exists($"/proc/{p}")), "the containers to die");
        d.StartDaemon();
        WaitFor(() => Inspect(always, "{{.State.Status}}") == "running", "the always container to run again");
        WaitFor(() => Inspect(alwaysStopped, "{{.State.Status}}") == "running", "the stopped always container to run again (docker does so)");
        WaitFor(() => Inspect(unless, "{{.State.Status}}") == "running", "the unless-stopped container to run again");
        Assert.Equal("exited", Inspect(unlessStopped, "{{.State.Status}}"));
        WaitFor(() => Inspect(none, "{{.State.Status}}") == "exited", "the no-policy container to be recorded exited");
        Assert.Equal("exited", Inspect(none, "{{.State.Status}}"));
        DockerCliTests.Ok(d.Docker("rm", "-f", always, alwaysStopped, unless, unlessStopped, none));
    }

    [Fact]
    public void HealthGoesFromStartingToHealthyToUnhealthyWithLogEventsPsAndFilter()
    {
        string n = Name();
        long since = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        DockerCliTests.Ok(d.Docker("run", "-d", "--name", n, "--health-cmd", "cat /tmp/ok", "--health-interval", "100ms", "--health-retries", "2",
            "busybox", "sleep", "1000"));
        string waiting = Name(); // probes an hour away: it stays "starting"
        DockerCliTests.Ok(d.Docker("run", "-d", "--name", waiting, "--health-cmd", "true", "--health-interval", "1h", "busybox", "sleep", "1000"));
        Assert.Equal("starting 0", Inspect(waiting, "{{.State.Health.Status}} {{.State.Health.FailingStreak}}"));
        Assert.Contains("(health: starting)", d.Docker("ps", "--filter", $"name={waiting}").Stdout);
        Assert.Contains(waiting, d.Docker("ps", "--filter", "health=starting", "--format", "{{.Names}}").Stdout);
        DockerCliTests.Ok(d.Docker("rm", "-f", waiting));
        WaitFor(() => Inspect(n, "{{.State.Health.Status}}") == "unhealthy", "unhealthy after two failures");
        Assert.True(int.Parse(Inspect(n, "{{.State.Health.FailingStreak}}")) >= 2);
        DockerCliTests.Ok(d.Docker("exec", n, "sh", "-c", "echo fine > /tmp/ok"));
        WaitFor(() => Inspect(n, "{{.State.Health.Status}}") == "healthy", "healthy once the probe passes");
        Assert.Equal("0", Inspect(n, "{{.State.Health.FailingStreak}}"));
        Assert.Contains("(healthy)", d.Docker("ps", "--filter", $"name={n}").Stdout);
        Assert.Contains(n, d.Docker("ps", "--filter", "health=healthy", "--format", "{{.Names}}").Stdout);
        Assert.DoesNotContain(n, d.Docker("ps", "--filter", "health=unhealthy", "--format", "{{.Names}}").Stdout);
        WaitFor(() => int.Parse(Inspect(n, "{{len .State.Health.Log}}")) == 5, "five log entries");
        Assert.Equal("0 fine\n", Inspect(n, "{{with index .State.Health.Log 4}}{{.ExitCode}} {{.Output}}{{end}}") + "\n");
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d.* UTC \d{4}-", Inspect(n, "{{with index .State.Health.Log 4}}{{.Start}} {{.End}}{{end}}"));
        WaitFor(() => int.Parse(Inspect(n, "{{len .State.Health.Log}}")) == 5 && Inspect(n, "{{with index .State.Health.Log 0}}{{.ExitCode}}{{end}}") == "0",
            "the log to keep only the last five");
        var ev = d.Docker("events", "--since", since.ToString(), "--until", (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString(),
            "--filter", $"container={n}", "--format", "{{.Action}}").Stdout;
        Assert.Contains("health_status: unhealthy", ev);
        Assert.Contains("health_status: healthy", ev);
        // probes are not left as exec instances: the test's own `docker exec`, and at most the probe running now
        Assert.InRange(int.Parse(Inspect(n, "{{len .ExecIDs}}")), 1, 2);
        DockerCliTests.Ok(d.Docker("rm", "-f", n));
    }

    [Fact]
    public void HealthTimeoutNoneAndNoHealthcheck()
    {
        string slow = Name(), none = Name();
        DockerCliTests.Ok(d.Docker("run", "-d", "--name", slow, "--health-cmd", "sleep 30", "--health-interval", "100ms", "--health-timeout", "200ms",
            "--health-retries", "1", "busybox", "sleep", "1000"));
        WaitFor(() => Inspect(slow, "{{.State.Health.Status}}") == "unhealthy", "unhealthy by timeout");
        Assert.Equal("-1 Health check exceeded timeout (200ms)", Inspect(slow, "{{with index .State.Health.Log 0}}{{.ExitCode}} {{.Output}}{{end}}"));
        DockerCliTests.Ok(d.Docker("run", "-d", "--name", none, "--no-healthcheck", "busybox", "sleep", "1000"));
        Assert.Equal("[NONE] <nil>", Inspect(none, "{{.Config.Healthcheck.Test}} {{.State.Health}}"));
        Assert.Contains(none, d.Docker("ps", "--filter", "health=none", "--format", "{{.Names}}").Stdout);
        Assert.DoesNotContain("health", d.Docker("ps", "--filter", $"name={none}", "--format", "{{.Status}}").Stdout);
        DockerCliTests.Ok(d.Docker("rm", "-f", slow, none));
    }
}
