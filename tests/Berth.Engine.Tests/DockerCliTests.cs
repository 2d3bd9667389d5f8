namespace Berth.Engine.Tests;

/// <summary>The real docker CLI (28.x) against an isolated berthd.</summary>
[Collection("daemon")]
public sealed class DockerCliTests(DaemonFixture d)
{
    private static string Name() => "t" + Guid.NewGuid().ToString("N")[..10];

    internal static void Ok((int Code, string Stdout, string Stderr) r) => Assert.True(r.Code == 0, $"exit {r.Code}: {r.Stderr}");

    [Fact]
    public void PingHeadAndVersionNegotiation()
    {
        var head = d.Raw("HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Contains("200 OK", head);
        Assert.Contains("Api-Version: 1.51", head);
        Assert.Contains("Ostype: linux", head);
        Assert.Contains("Docker-Experimental: false", head);
        Assert.Contains("400 Bad Request", d.Raw("GET /v1.99/version HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Contains("is too new. Maximum supported API version is 1.51", d.Raw("GET /v1.99/version HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Contains("is too old", d.Raw("GET /v1.12/version HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Contains("\"ApiVersion\":\"1.51\"", d.Raw("GET /version HTTP/1.1\r\nHost: x\r\n\r\n"));
        var v = d.Docker("version", "--format", "{{.Server.APIVersion}} {{.Client.APIVersion}}");
        Assert.Equal(0, v.Code);
        Assert.Equal("1.51 1.50", v.Stdout.Trim());
        var info = d.Docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.OSType}}");
        Assert.Equal("inactive linux", info.Stdout.Trim());
    }

    [Fact]
    public void RunRmEchoes()
    {
        var r = d.Docker("run", "--rm", "busybox", "echo", "hi");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal("hi\n", r.Stdout);
        Assert.DoesNotContain("echo hi", d.Docker("ps", "-a", "--no-trunc").Stdout);
    }

    [Fact]
    public void RunKeepsStreamsApartAndReturnsTheExitCode()
    {
        var r = d.Docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3");
        Assert.Equal(3, r.Code);
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
    }

    [Fact]
    public void RunWithPipedStdin()
    {
        var r = d.DockerWithInput("line1\nline2\n", "run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done >&2");
        Assert.Equal(0, r.Code);
        Assert.Equal("line1\nline2\n", r.Stdout);
        Assert.Equal("done\n", r.Stderr);
    }

    [Fact]
    public void ImageConfigAndRunFlagsReachTheProcess()
    {
        var r = d.Docker("run", "--rm", "-e", "A=b", "-w", "/tmp", "-u", "nobody", "--hostname", "hh", "busybox", "sh", "-c",
            "echo $A; pwd; id -u; hostname; cat /etc/hostname; grep -c hh /etc/hosts; grep CapEff /proc/self/status");
        Assert.True(r.Code == 0, r.Stderr);
        var lines = r.Stdout.Split('\n');
        Assert.Equal("b", lines[0]);
        Assert.Equal("/tmp", lines[1]);
        Assert.Equal("65534", lines[2]);
        Assert.Equal("hh", lines[3]);
        Assert.Equal("hh", lines[4]);
        Assert.Equal("1", lines[5]);
        // root in a default container has docker's 14 capabilities, not all of them
        var caps = d.Docker("run", "--rm", "busybox", "grep", "CapEff", "/proc/self/status").Stdout;
        Assert.Contains("00000000a80425fb", caps);
        var masked = d.Docker("run", "--rm", "busybox", "sh", "-c", "cat /proc/kcore | wc -c; touch /proc/sys/x 2>&1 || echo ro");
        Assert.StartsWith("0", masked.Stdout.Trim());
    }

    [Fact]
    public void DetachedLifecycle()
    {
        string n = Name();
        var run = d.Docker("run", "-d", "--name", n, "--label", "k=v", "busybox", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done");
        Assert.True(run.Code == 0, run.Stderr);
        string id = run.Stdout.Trim();
        Assert.Equal(64, id.Length);
        Assert.Contains(n, d.Docker("ps").Stdout);
        Assert.Contains(n, d.Docker("ps", "--filter", "label=k=v").Stdout);
        Assert.DoesNotContain(n, d.Docker("ps", "--filter", "label=k=other").Stdout);
        Assert.Equal("running", d.Docker("inspect", "-f", "{{.State.Status}}", n).Stdout.Trim());
        Thread.Sleep(700);
        Assert.Contains("tick 1\n", d.Docker("logs", n).Stdout);
        var follow = d.Run("timeout", "2", "docker", "logs", "-f", "--tail", "1", "-t", n);
        var fl = follow.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(fl.Length >= 3, follow.Stdout);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z tick \d+$", fl[0]);
        var rmRunning = d.Docker("rm", n);
        Assert.NotEqual(0, rmRunning.Code);
        Assert.Contains("container is running: stop the container before removing or force remove", rmRunning.Stderr);
        var stop = d.Docker("stop", "-t", "1", n);
        Assert.True(stop.Code == 0, stop.Stderr);
        Assert.Contains("Exited (137)", d.Docker("ps", "-a", "--filter", $"name={n}").Stdout);
        Assert.Equal("exited 137", d.Docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", n).Stdout.Trim());
        Ok(d.Docker("start", n));
        Assert.Equal("running", d.Docker("inspect", "-f", "{{.State.Status}}", n).Stdout.Trim());
        Ok(d.Docker("rm", "-f", n));
        Assert.Contains("No such object", d.Docker("inspect", n).Stderr);
        Assert.Contains("No such container", d.Docker("container", "inspect", n).Stderr);
    }

    [Fact]
    public void BadInputGetsDockersErrors()
    {
        string n = Name();
        Ok(d.Docker("create", "--name", n, "busybox", "true"));
        var dup = d.Docker("create", "--name", n, "busybox", "true");
        Assert.NotEqual(0, dup.Code);
        Assert.Contains("is already in use by container", dup.Stderr);
        var bad = d.Docker("create", "--name", "bad name!", "busybox", "true");
        Assert.Contains("Invalid container name", bad.Stderr);
        Assert.Contains("No such container: nosuchcontainer", d.Docker("logs", "nosuchcontainer").Stderr);
        Assert.Contains("is not running", d.Docker("kill", n).Stderr);
        var missing = d.Docker("run", "--rm", "busybox", "/nonexistent");
        Assert.Equal(127, missing.Code);
        Assert.Contains("Invalid signal: NOPE", d.Raw($"POST /containers/{n}/kill?signal=NOPE HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Contains("invalid condition", d.Raw($"POST /containers/{n}/wait?condition=bogus HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Contains("404 Not Found", d.Raw("GET /containers/nosuch/json HTTP/1.1\r\nHost: x\r\n\r\n"));
        Ok(d.Docker("rm", n));
    }

    [Fact]
    public void WaitReturnsTheExitCode()
    {
        string n = Name();
        Ok(d.Docker("run", "-d", "--name", n, "busybox", "sh", "-c", "sleep 0.5; exit 4"));
        var w = d.Docker("wait", n);
        Assert.Equal("4", w.Stdout.Trim());
        d.Docker("rm", n);
    }

    [Fact]
    public void ExecPauseTopStatsKillRestart()
    {
        string n = Name();
        Ok(d.Docker("run", "-d", "--name", n, "bbg", "sleep", "1000"));
        var ls = d.Docker("exec", n, "ls", "/");
        Assert.True(ls.Code == 0, ls.Stderr);
        Assert.Contains("bin\n", ls.Stdout);
        Assert.Equal(5, d.Docker("exec", n, "sh", "-c", "exit 5").Code);
        Assert.Equal("piped\n", d.DockerWithInput("echo piped\n", "exec", "-i", n, "sh").Stdout);
        var nope = d.Docker("exec", n, "nope");
        Assert.Equal(127, nope.Code);
        Assert.Contains("executable file not found", nope.Stdout + nope.Stderr);
        var tty = d.Run("script", "-qc", $"docker exec -it {n} sh -c 'tty; echo in-tty'", "/dev/null");
        Assert.Contains("/dev/pts/", tty.Stdout);
        Assert.Contains("in-tty\r\n", tty.Stdout);

        var top = d.Docker("top", n);
        Assert.Contains("sleep 1000", top.Stdout);
        Assert.Contains("PID", top.Stdout);
        Ok(d.Docker("pause", n));
        Assert.Contains("(Paused)", d.Docker("ps", "--filter", $"name={n}").Stdout);
        Assert.Equal("paused", d.Docker("inspect", "-f", "{{.State.Status}}", n).Stdout.Trim());
        Ok(d.Docker("unpause", n));
        var stats = d.Docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", n);
        Assert.True(stats.Code == 0, stats.Stderr);
        Assert.Equal($"{n} 1", stats.Stdout.Trim());
        int pid1 = int.Parse(d.Docker("inspect", "-f", "{{.State.Pid}}", n).Stdout.Trim());
        Ok(d.Docker("restart", "-t", "1", n));
        int pid2 = int.Parse(d.Docker("inspect", "-f", "{{.State.Pid}}", n).Stdout.Trim());
        Assert.NotEqual(pid1, pid2);
        Ok(d.Docker("kill", n));
        Assert.Equal("137", d.Docker("wait", n).Stdout.Trim());
        d.Docker("rm", n);
    }

    [Fact]
    public void AttachOnAKeptAliveConnection()
    {
        string n = Name();
        Ok(d.Docker("create", "--name", n, "busybox", "sh", "-c", "echo ka"));
        using var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        s.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(d.Socket));
        s.ReceiveTimeout = 10000;
        var buf = new byte[4096];
        s.Send(System.Text.Encoding.ASCII.GetBytes("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"));
        string ping = System.Text.Encoding.ASCII.GetString(buf, 0, s.Receive(buf));
        Assert.Contains("200 OK", ping);
        s.Send(System.Text.Encoding.ASCII.GetBytes($"POST /v1.41/containers/{n}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"));
        string head = System.Text.Encoding.ASCII.GetString(buf, 0, s.Receive(buf));
        Assert.Contains(" 101 ", head);
        Ok(d.Docker("start", n));
        var all = new List<byte>();
        int k;
        while ((k = s.Receive(buf)) > 0) all.AddRange(buf.AsSpan(0, k).ToArray());
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 0, 0, 3, (byte)'k', (byte)'a', (byte)'\n' }, all.ToArray());
        Ok(d.Docker("rm", n));
    }

    [Fact]
    public void RunInteractiveTty()
    {
        var r = d.Run("script", "-qc", "docker run -it --rm busybox sh -c 'tty; echo hello'", "/dev/null");
        Assert.Contains("/dev/pts/0", r.Stdout);
        Assert.Contains("hello\r\n", r.Stdout);
    }
}
