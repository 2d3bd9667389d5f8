using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Berth.Engine.Tests;

/// <summary>
/// The berth CLI (the NativeAOT binary in artifacts/bin, else the JIT build) as a Docker Engine API
/// client of an isolated berthd: docker's output, exit codes and errors, -it through a
/// pseudo-terminal, and berthd started by berth when nothing answers on its default socket.
/// </summary>
[Collection("daemon")]
public sealed class BerthCliTests(DaemonFixture d)
{
    private static string Name() => "b" + Guid.NewGuid().ToString("N")[..10];

    public static string BerthBinary
    {
        get
        {
            string aot = Path.Combine(DaemonFixture.RepoRoot, "artifacts", "bin", "berth");
            string config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
            return File.Exists(aot) && Environment.GetEnvironmentVariable("BERTH_TEST_JIT_CLI") is null
                ? aot : Path.Combine(DaemonFixture.RepoRoot, "src", "berth", "bin", config, "net10.0", "berth");
        }
    }

    private sealed record Result(int Code, string Stdout, string Stderr)
    {
        public string[] ErrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static Result Exec(ProcessStartInfo psi, string? stdin)
    {
        psi.RedirectStandardInput = psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (stdin is not null) { p.StandardInput.Write(stdin); p.StandardInput.Flush(); }
        p.StandardInput.Close();
        if (!p.WaitForExit(90_000)) { p.Kill(true); throw new TimeoutException($"{psi.FileName} {string.Join(' ', psi.ArgumentList)} timed out"); }
        return new Result(p.ExitCode, so.Result, se.Result);
    }

    /// <summary>
    /// Runs a command under script(1), so that it has a terminal, and types into it: each step waits
    /// (bounded) until the output holds its text, then sends its keys. Returns the exit code and output.
    /// </summary>
    private static Result Typed(string command, params (string WaitFor, string Keys)[] steps)
    {
        var psi = new ProcessStartInfo("script") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-qec", command, "/dev/null" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        var reader = Task.Run(() =>
        {
            var buf = new char[4096];
            int n;
            while ((n = p.StandardOutput.Read(buf, 0, buf.Length)) > 0) lock (output) output.Append(buf, 0, n);
        });
        var se = p.StandardError.ReadToEndAsync();
        int seen = 0;
        foreach (var (waitFor, keys) in steps)
        {
            var until = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < until)
            {
                lock (output)
                {
                    int at = output.ToString().IndexOf(waitFor, seen, StringComparison.Ordinal);
                    if (at >= 0) { seen = at + waitFor.Length; break; }
                }
                if (p.HasExited) break;
                Thread.Sleep(20);
            }
            p.StandardInput.Write(keys);
            p.StandardInput.Flush();
        }
        if (!p.WaitForExit(60_000)) { p.Kill(true); throw new TimeoutException($"{command} timed out: {output}"); }
        reader.Wait(10_000);
        p.StandardInput.Close();
        lock (output) return new Result(p.ExitCode, output.ToString(), se.Result);
    }

    private ProcessStartInfo BerthStart(params string[] args)
    {
        var psi = new ProcessStartInfo(BerthBinary);
        psi.Environment["DOCKER_HOST"] = d.DockerHost;
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(d.Root, "docker-config");
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    private Result Berth(params string[] args) => Exec(BerthStart(args), null);

    private static void Ok(Result r) => Assert.True(r.Code == 0, $"exit {r.Code}: {r.Stderr}");

    /// <summary>Waits (bounded) until a condition on berth's output holds; returns the last output.</summary>
    private string Until(Func<string, bool> done, params string[] args)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        string last;
        do
        {
            last = Berth(args).Stdout;
            if (done(last)) return last;
            Thread.Sleep(100);
        } while (DateTime.UtcNow < until);
        return last;
    }

    [Fact]
    public void RunRmPrintsTheOutputAndReturnsTheExitCode()
    {
        if (!d.Available) return;
        var r = Berth("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3");
        Assert.Equal(3, r.Code);
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
        var piped = Exec(BerthStart("run", "-i", "--rm", "-e", "A=b", "-w", "/tmp", "busybox", "sh", "-c", "cat; echo $A $(pwd)"), "line1\nline2\n");
        Ok(piped);
        Assert.Equal("line1\nline2\nb /tmp\n", piped.Stdout);
        Assert.DoesNotContain("echo out", Berth("ps", "-a", "--no-trunc").Stdout);
    }

    [Fact]
    public void DetachedContainerThroughPsLogsExecInspectStopAndRm()
    {
        if (!d.Available) return;
        string n = Name();
        var run = Berth("run", "-d", "--name", n, "-e", "GREETING=hello", "--label", "role=test", "--memory", "64m", "--pids-limit", "50",
            "busybox", "sh", "-c", "echo started; while true; do sleep 1; done");
        Ok(run);
        string id = run.Stdout.Trim();
        Assert.Matches("^[0-9a-f]{64}$", id);

        var ps = Berth("ps", "--filter", "name=" + n, "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Status}}");
        Ok(ps);
        Assert.Matches($"^{id[..12]} {n} busybox Up .+\n$", ps.Stdout);
        var table = Berth("ps", "--filter", "name=" + n, "--format", "table {{.ID}}\\t{{.Names}}");
        Assert.Equal($"CONTAINER ID   NAMES\n{id[..12]}   {n}\n", table.Stdout);
        var plain = Berth("ps").Stdout.Split('\n');
        Assert.Matches(@"^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$", plain[0]);
        Assert.Contains(plain, l => l.StartsWith(id[..12]) && l.EndsWith(n));
        Assert.Contains(id[..12], Berth("ps", "-q").Stdout.Split('\n'));
        Assert.Contains("\"Names\":\"" + n + "\"", Berth("ps", "--filter", "name=" + n, "--format", "{{json .}}").Stdout);

        Assert.Equal("started\n", Until(o => o.Contains("started"), "logs", n));
        var exec = Berth("exec", "-e", "X=1", n, "sh", "-c", "echo $GREETING $X; exit 4");
        Assert.Equal(4, exec.Code);
        Assert.Equal("hello 1\n", exec.Stdout);

        Ok(Berth("exec", "-d", n, "sh", "-c", "echo bg > /tmp/bg"));
        Assert.Equal("bg\n", Until(o => o == "bg\n", "exec", n, "cat", "/tmp/bg"));
        Assert.Equal("/tmp 65534\n", Berth("exec", "-w", "/tmp", "-u", "nobody", n, "sh", "-c", "echo $(pwd) $(id -u)").Stdout);
        Assert.Equal("started\n", Berth("logs", "--tail", "1", n).Stdout);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z started\n$", Berth("logs", "-t", n).Stdout);
        Assert.Equal("", Berth("logs", "--until", "2000-01-01T00:00:00Z", n).Stdout);

        var inspect = Berth("inspect", "--format", "{{.State.Status}} {{.Name}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{index .Config.Labels \"role\"}} {{json .Config.Cmd}}", n);
        Ok(inspect);
        Assert.Equal($"running /{n} {64 << 20} 50 test [\"sh\",\"-c\",\"echo started; while true; do sleep 1; done\"]\n", inspect.Stdout);
        Assert.StartsWith("[\n    {\n        \"Id\": \"" + id, Berth("inspect", n).Stdout);

        var stop = Berth("stop", "-t", "1", n);
        Ok(stop);
        Assert.Equal(n + "\n", stop.Stdout);
        Assert.StartsWith("exited", Berth("inspect", "-f", "{{.State.Status}}", n).Stdout);
        Assert.Contains(n, Berth("ps", "-a", "--format", "{{.Names}}").Stdout);
        Assert.DoesNotContain(n, Berth("ps", "--format", "{{.Names}}").Stdout);
        var rm = Berth("rm", n);
        Ok(rm);
        Assert.Equal(n + "\n", rm.Stdout);
        var gone = Berth("inspect", n);
        Assert.Equal(1, gone.Code);
        Assert.Equal($"berth: Error: No such object: {n}", Assert.Single(gone.ErrLines));
    }

    [Fact]
    public void RunFlagsReachHostConfigAsDockersDo()
    {
        if (!d.Available) return;
        string n = Name();
        var create = Berth("create", "--name", n, "--read-only", "--tmpfs", "/run:size=1m", "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD",
            "--security-opt", "no-new-privileges", "--ulimit", "nofile=100:200", "--init", "--pid", "host", "--network", "none",
            "--add-host", "a.test:1.2.3.4", "--dns", "9.9.9.9", "--restart", "on-failure:3", "--health-cmd", "true", "--health-interval", "5s",
            "--health-retries", "2", "-v", "/tmp:/hosttmp:ro", "--cpus", "1.5", "--cpu-shares", "512", "--cpuset-cpus", "0", "--blkio-weight", "300",
            "-m", "64m", "--memory-swap", "128m", "--pids-limit", "40", "--hostname", "hh", "-u", "nobody", "-w", "/tmp", "--entrypoint", "/bin/sh",
            "--env-file", WriteFile("A=1\n# comment\nB=2\n"), "-e", "C=3", "--label", "k=v", "--stop-signal", "SIGUSR1",
            "busybox", "-c", "true");
        Ok(create);
        string Hc(string f) => Berth("inspect", "-f", f, n).Stdout.TrimEnd('\n');
        Assert.Equal("true map[/run:size=1m] [NET_ADMIN] [MKNOD] [no-new-privileges]", Hc("{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Tmpfs}} {{.HostConfig.CapAdd}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}}"));
        Assert.Equal("[{\"Name\":\"nofile\",\"Soft\":100,\"Hard\":200}] true host none", Hc("{{json .HostConfig.Ulimits}} {{.HostConfig.Init}} {{.HostConfig.PidMode}} {{.HostConfig.NetworkMode}}"));
        Assert.Equal("[a.test:1.2.3.4] [9.9.9.9] on-failure 3 [/tmp:/hosttmp:ro]", Hc("{{.HostConfig.ExtraHosts}} {{.HostConfig.Dns}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.Binds}}"));
        Assert.Equal($"1500000000 512 0 300 {64 << 20} {128 << 20} 40", Hc("{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} {{.HostConfig.BlkioWeight}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}}"));
        Assert.Equal("hh nobody /tmp [/bin/sh] [-c true] v SIGUSR1", Hc("{{.Config.Hostname}} {{.Config.User}} {{.Config.WorkingDir}} {{.Config.Entrypoint}} {{.Config.Cmd}} {{.Config.Labels.k}} {{.Config.StopSignal}}"));
        var env = Hc("{{json .Config.Env}}");
        Assert.Contains("\"A=1\",\"B=2\",\"C=3\"", env);
        Assert.Equal("[CMD-SHELL true] 5000000000 2", Hc("{{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Retries}}"));
        Ok(Berth("rm", n));
    }

    private string WriteFile(string text)
    {
        string f = Path.Combine(d.Root, Name() + ".txt");
        File.WriteAllText(f, text);
        return f;
    }

    [Theory]
    [InlineData("run|--rm|busybox|nosuchcommand", 127, "executable file not found")]
    [InlineData("run|--rm|busybox|/etc/passwd", 126, "permission denied")]
    [InlineData("run|--rm|busybox|/tmp", 126, "is a directory")]
    [InlineData("run|--rm|127.0.0.1:1/nope:1|true", 125, "Error response from daemon")]
    [InlineData("run|--bogus|busybox|true", 125, "unknown flag: --bogus")]
    [InlineData("run|--memory|12x|busybox|true", 125, "invalid size: '12x'")]
    [InlineData("run|--restart|sometimes|busybox|true", 125, "invalid restart policy")]
    [InlineData("ps|--bogus", 125, "unknown flag: --bogus")]
    [InlineData("frobnicate", 125, "'frobnicate' is not a berth command")]
    [InlineData("stop", 125, "requires at least 1 argument")]
    [InlineData("rm|nosuchcontainer", 1, "berth: Error response from daemon: No such container: nosuchcontainer")]
    [InlineData("inspect|-f|{{.Nope}}|busybox", 1, "can't evaluate field Nope")]
    public void ExitCodesAndOneLineErrorsAreDockers(string args, int code, string message)
    {
        if (!d.Available) return;
        var r = Berth(args.Split('|'));
        Assert.True(code == r.Code, $"exit {r.Code}, expected {code}: {r.Stderr}");
        Assert.Contains(message, r.ErrLines.Last());
        Assert.All(r.ErrLines.SkipLast(1), l => Assert.StartsWith("Unable to find image", l)); // the only other line docker prints
        Assert.DoesNotContain(Berth("ps", "-a", "--format", "{{.Command}} {{.Status}}").Stdout.Split('\n'),
            l => l.Contains("nosuchcommand") || l.Contains("/etc/passwd"));
    }

    [Fact]
    public void ImagesListAndFormat()
    {
        if (!d.Available) return;
        var images = Berth("images");
        Ok(images);
        var lines = images.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$", lines[0]);
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^busybox\s+latest\s+[0-9a-f]{12}\s+.+ ago\s+[0-9.]+[kM]B$"));
        Assert.Contains("busybox:latest", Berth("images", "--format", "{{.Repository}}:{{.Tag}}").Stdout.Split('\n'));
        var id = Berth("images", "-q", "busybox");
        Ok(id);
        Assert.Matches("^[0-9a-f]{12}\n$", id.Stdout);
        var full = Berth("image", "inspect", "--format", "{{.Id}} {{json .Config.Cmd}}", "busybox");
        Assert.Equal($"sha256:{id.Stdout.Trim()}", full.Stdout.Split(' ')[0][..19]);
        Assert.EndsWith(" [\"sh\"]\n", full.Stdout);
    }

    [Fact]
    public void BuildSendsTheContextWithoutWhatDockerignoreExcludes()
    {
        string ctx = Path.Combine(d.Root, "ctx-" + Name());
        Directory.CreateDirectory(Path.Combine(ctx, "logs"));
        File.WriteAllText(Path.Combine(ctx, "keep.txt"), "kept\n");
        File.WriteAllText(Path.Combine(ctx, "logs", "big.log"), "noise\n");
        File.WriteAllText(Path.Combine(ctx, ".dockerignore"), "logs\n*.secret\n");
        File.WriteAllText(Path.Combine(ctx, "x.secret"), "hidden\n");
        string outside = Path.Combine(d.Root, "Other.Dockerfile-" + Name());
        File.WriteAllText(outside, "FROM busybox\nARG WHO\nCOPY . /ctx/\nRUN echo \"by $WHO\" > /ctx/who\nCMD [\"sh\", \"-c\", \"ls -A /ctx; cat /ctx/who\"]\n");
        string tag = "cli" + Name() + ":1";
        var built = Berth("build", "-t", tag, "-f", outside, "--build-arg", "WHO=berth", ctx);
        Ok(built);
        Assert.Contains("Successfully tagged " + tag, built.Stdout);
        var run = Berth("run", "--rm", tag);
        Ok(run);
        Assert.Contains("keep.txt", run.Stdout);
        Assert.Contains(".dockerignore", run.Stdout);
        Assert.DoesNotContain("logs", run.Stdout);
        Assert.DoesNotContain("x.secret", run.Stdout);
        Assert.EndsWith("by berth\n", run.Stdout);
        var quiet = Berth("build", "-q", "-f", outside, ctx);
        Ok(quiet);
        Assert.Matches(@"^sha256:[0-9a-f]{64}\n$", quiet.Stdout);
        File.WriteAllText(outside, "FROM busybox\nRUN exit 4\n");
        var failed = Berth("build", "-f", outside, ctx);
        Assert.Equal(1, failed.Code);
        Assert.Contains("returned a non-zero code: 4", Assert.Single(failed.ErrLines.Where(l => !l.StartsWith("Sending", StringComparison.Ordinal))));
        Berth("rmi", tag);
    }

    [Fact]
    public void NetworkCommandsConnectContainersAndPublishPorts()
    {
        string n = Name(), web = Name(), tag = Name();
        var created = Berth("network", "create", "--label", "t=" + tag, n);
        Ok(created);
        string id = created.Stdout.Trim();
        Assert.Equal(64, id.Length);
        var ls = Berth("network", "ls", "--filter", "label=t=" + tag);
        Ok(ls);
        Assert.Matches($@"^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\n{id[..12]}\s+{n}\s+bridge\s+local\n$", ls.Stdout);
        Assert.Contains("bridge\nhost\nnone\n", Berth("network", "ls", "--format", "{{.Name}}").Stdout);
        Assert.Equal($"{n} {tag}\n", Berth("network", "inspect", "--format", "{{.Name}} {{index .Labels \"t\"}}", n).Stdout);

        Ok(Berth("run", "-d", "--name", web, "-p", "127.0.0.1::80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"));
        Ok(Berth("network", "connect", "--alias", "site", n, web));
        var reach = Berth("run", "--rm", "--network", n, "busybox", "wget", "-q", "-O-", "http://site/passwd");
        Ok(reach);
        Assert.StartsWith("root:x:0:0", reach.Stdout);
        var port = Berth("port", web, "80");
        Ok(port);
        int hostPort = int.Parse(port.Stdout.Trim().Split(':')[^1]);
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
            Assert.StartsWith("root:x:0:0", http.GetStringAsync($"http://127.0.0.1:{hostPort}/passwd").Result);

        var inUse = Berth("network", "rm", n);
        Assert.Equal(1, inUse.Code);
        Assert.Contains("has active endpoints", Assert.Single(inUse.ErrLines));
        Ok(Berth("network", "disconnect", n, web));
        Ok(Berth("rm", "-f", web));
        var prune = Berth("network", "prune", "-f", "--filter", "label=t=" + tag);
        Ok(prune);
        Assert.Equal($"Deleted Networks:\n{n}\n\n", prune.Stdout);
        Assert.Contains("not found", Assert.Single(Berth("network", "rm", n).ErrLines));
    }

    [Fact]
    public void VolumeCommandsAndContainerPrune()
    {
        string v = Name(), c = Name(), tag = Name();
        var created = Berth("volume", "create", "--label", "t=" + tag, v);
        Ok(created);
        Assert.Equal(v + "\n", created.Stdout);
        var ls = Berth("volume", "ls", "--filter", "label=t=" + tag);
        Ok(ls);
        Assert.Matches($@"^DRIVER\s+VOLUME NAME\nlocal\s+{v}\n$", ls.Stdout);
        Assert.Equal($"{v} {tag}\n", Berth("volume", "inspect", "--format", "{{.Name}} {{index .Labels \"t\"}}", v).Stdout);
        Assert.Contains("\"Driver\": \"local\"", Berth("volume", "inspect", v).Stdout);
        Ok(Berth("run", "--name", c, "--label", "t=" + tag, "-v", v + ":/data", "busybox", "sh", "-c", "echo hi > /data/f"));
        var inUse = Berth("volume", "rm", v);
        Assert.Equal(1, inUse.Code);
        Assert.Contains("volume is in use", Assert.Single(inUse.ErrLines));
        var prune = Berth("container", "prune", "-f", "--filter", "label=t=" + tag);
        Ok(prune);
        Assert.StartsWith("Deleted Containers:\n", prune.Stdout);
        Assert.Contains("Total reclaimed space: ", prune.Stdout);
        Assert.DoesNotContain(c, Berth("ps", "-a", "--format", "{{.Names}}").Stdout);
        var vp = Berth("volume", "prune", "-a", "-f", "--filter", "label=t=" + tag);
        Ok(vp);
        Assert.Equal($"Deleted Volumes:\n{v}\n\nTotal reclaimed space: 3B\n", vp.Stdout);
        var gone = Berth("volume", "rm", v);
        Assert.Equal(1, gone.Code);
        Assert.Contains("no such volume", Assert.Single(gone.ErrLines));
        var noForce = Berth("volume", "prune");
        Assert.NotEqual(0, noForce.Code);
        Assert.Contains("needs --force", noForce.Stderr);
        // system prune: the stopped containers (here the one with this label), then the dangling images, one total
        string again = Name();
        Ok(Berth("run", "--name", again, "--label", "t=" + tag, "busybox", "true"));
        string againId = Berth("inspect", "--format", "{{.Id}}", again).Stdout.Trim();
        var system = Berth("system", "prune", "-f", "--filter", "label=t=" + tag);
        Ok(system);
        Assert.StartsWith($"Deleted Containers:\n{againId}\n\n", system.Stdout);
        Assert.EndsWith("Total reclaimed space: 0B\n", system.Stdout);
        Assert.DoesNotContain(again, Berth("ps", "-a", "--format", "{{.Names}}").Stdout);
    }

    [Fact]
    public void TagAndRmi()
    {
        if (!d.Available) return;
        string tag = Name() + ":v1";
        Ok(Berth("tag", "busybox", tag));
        Assert.Contains(tag, Berth("images", "--format", "{{.Repository}}:{{.Tag}}").Stdout.Split('\n'));
        Assert.Equal(Berth("images", "-q", "busybox").Stdout, Berth("images", "-q", tag).Stdout);
        var rmi = Berth("rmi", tag);
        Ok(rmi);
        Assert.Equal($"Untagged: {tag}\n", rmi.Stdout);
        Assert.DoesNotContain(tag, Berth("images", "--format", "{{.Repository}}:{{.Tag}}").Stdout);
        var missing = Berth("rmi", tag);
        Assert.Equal(1, missing.Code);
        Assert.Contains("No such image", Assert.Single(missing.ErrLines));
    }

    [Fact]
    public void RunPullsAMissingImageAndPushShowsProgress()
    {
        if (!d.Available) return;
        string dir = Path.Combine(d.Root, "registry-" + Name());
        Directory.CreateDirectory(dir);
        int port = FreePort();
        File.WriteAllText(Path.Combine(dir, "config.yml"),
            $"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {dir}/data\nhttp:\n  addr: 127.0.0.1:{port}\n");
        using var registry = Process.Start(new ProcessStartInfo("docker-registry", ["serve", Path.Combine(dir, "config.yml")]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        registry.OutputDataReceived += (_, _) => { };
        registry.ErrorDataReceived += (_, _) => { };
        registry.BeginOutputReadLine();
        registry.BeginErrorReadLine();
        try
        {
            string repo = $"127.0.0.1:{port}/cli/bb";
            // Two images in the registry, built from the fixture's busybox tree with umoci: v2 has a layer v1 lacks.
            // v1's layer carries a random file so that no other test's pull of the same tree makes it "Already exists".
            string layout = Path.Combine(dir, "oci"), bundle = Path.Combine(dir, "bundle");
            void Sh(string script) { var r = d.Run("sh", "-c", script); Assert.True(r.Code == 0, $"{script}: {r.Stderr}"); }
            Sh($"umoci init --layout {layout} && umoci new --image {layout}:v1 && umoci unpack --image {layout}:v1 {bundle} >/dev/null" +
               $" && tar -C {bundle}/rootfs -xf {Path.Combine(d.Root, "rootfs-busybox.tar")} && head -c 64 /dev/urandom > {bundle}/rootfs/.unique && umoci repack --image {layout}:v1 {bundle}" +
               $" && umoci config --image {layout}:v1 --config.cmd sh && rm -rf {bundle}" +
               $" && umoci unpack --image {layout}:v1 {bundle} >/dev/null && head -c 3000000 /dev/urandom > {bundle}/rootfs/big && umoci repack --image {layout}:v2 {bundle}");
            var until = DateTime.UtcNow.AddSeconds(30);
            while (d.Run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", $"oci:{layout}:v1", $"docker://{repo}:1") is var c && c.Code != 0)
            {
                Assert.True(DateTime.UtcNow < until && !registry.HasExited, "the registry did not come up: " + c.Stderr);
                Thread.Sleep(100);
            }
            Ok(new Result(d.Run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", $"oci:{layout}:v2", $"docker://{repo}:2").Code, "", ""));

            var run = Berth("run", "--rm", $"{repo}:1", "echo", "pulled");
            Assert.True(run.Code == 0, run.Stderr);
            Assert.Equal("pulled\n", run.Stdout);
            var err = run.ErrLines;
            Assert.Equal($"Unable to find image '{repo}:1' locally", err[0]);
            Assert.Contains(err, l => l.EndsWith(": Pull complete"));
            Assert.Equal($"Status: Downloaded newer image for {repo}:1", err[^1]);

            var again = Berth("pull", $"{repo}:1");
            Ok(again);
            Assert.StartsWith("1: Pulling from cli/bb\n", again.Stdout);
            Assert.EndsWith($"\n{repo}:1\n", again.Stdout);

            // On a terminal the layers are lines redrawn in place with a bar.
            var tty = Typed($"DOCKER_HOST={d.DockerHost} {BerthBinary} pull {repo}:2");
            Assert.True(tty.Code == 0, tty.Stdout);
            Assert.Contains("\x1b[2K", tty.Stdout);
            Assert.Contains("Pull complete", tty.Stdout);
            Assert.Contains("Already exists", tty.Stdout);

            Ok(Berth("tag", "busybox", $"{repo}:pushed"));
            var push = Berth("push", $"{repo}:pushed");
            Assert.True(push.Code == 0, push.Stderr);
            var pl = push.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal($"The push refers to repository [{repo}]", pl[0]);
            Assert.Contains(pl, l => Regex.IsMatch(l, "^[0-9a-f]{12}: (Pushed|Layer already exists)$"));
            Assert.Matches("^pushed: digest: sha256:[0-9a-f]{64} size: [0-9]+$", pl[^1]);
            Assert.Equal(0, d.Run("skopeo", "inspect", "--tls-verify=false", $"docker://{repo}:pushed").Code);
            var down = Berth("push", $"127.0.0.1:{FreePort()}/nobody/home:1");
            Assert.Equal(1, down.Code);
            Assert.StartsWith("berth: ", Assert.Single(down.ErrLines));
        }
        finally
        {
            registry.Kill();
            registry.WaitForExit(10_000);
        }
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public void SaveLoadHistoryAndSystemDf()
    {
        if (!d.Available) return;
        string tag = Name() + ":saved";
        string file = Path.Combine(d.Root, Name() + ".tar");
        Ok(Berth("tag", "busybox", tag));
        var save = Berth("save", "-o", file, tag);
        Ok(save);
        Assert.Equal("", save.Stdout);
        Assert.Contains("manifest.json", d.Run("tar", "-tf", file).Stdout);
        Ok(Berth("rmi", tag));
        var load = Berth("load", "-i", file);
        Ok(load);
        Assert.Equal($"Loaded image: {tag}\n", load.Stdout);
        Assert.Contains(tag, Berth("images", "--format", "{{.Repository}}:{{.Tag}}").Stdout.Split('\n'));
        var noFile = Berth("load", "-i", file + ".missing");
        Assert.Equal(1, noFile.Code);
        Assert.Contains("no such file or directory", Assert.Single(noFile.ErrLines));

        var history = Berth("history", tag);
        Ok(history);
        Assert.Matches(@"^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n", history.Stdout);
        Assert.Matches(@"\n[0-9a-f]{12}|<missing>", history.Stdout);

        var df = Berth("system", "df");
        Ok(df);
        var rows = df.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$", rows[0]);
        Assert.Matches(@"^Images\s+[1-9][0-9]*\s+[0-9]+\s+[0-9.]+[kMG]?B\s+", rows[1]);
        Assert.StartsWith("Containers", rows[2]);
        Assert.StartsWith("Local Volumes", rows[3]);
        Assert.StartsWith("Build Cache", rows[4]);
        Ok(Berth("rmi", tag));
    }

    [Fact]
    public void ForegroundRunForwardsSignalsToTheContainer()
    {
        if (!d.Available) return;
        var psi = BerthStart("run", "--rm", "busybox", "sh", "-c", "trap 'echo got-term; exit 9' TERM; echo ready; while true; do sleep 0.1; done");
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        using var p = Process.Start(psi)!;
        Assert.Equal("ready", p.StandardOutput.ReadLine());
        Assert.Equal(0, d.Run("kill", "-TERM", p.Id.ToString()).Code);
        string rest = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(30_000));
        Assert.Equal("got-term\n", rest);
        Assert.Equal(9, p.ExitCode);
    }

    [Fact]
    public void CpDiffCommitAndExport()
    {
        if (!d.Available) return;
        string n = Name();
        Ok(Berth("run", "-d", "--name", n, "busybox", "sh", "-c", "echo made > /tmp/made; while true; do sleep 1; done"));
        Assert.Equal("made\n", Until(o => o == "made\n", "exec", n, "cat", "/tmp/made"));
        string work = Path.Combine(d.Root, "cp-" + n);
        Directory.CreateDirectory(Path.Combine(work, "tree", "sub"));
        File.WriteAllText(Path.Combine(work, "file.txt"), "from host\n");
        File.WriteAllText(Path.Combine(work, "tree", "sub", "deep.txt"), "deep\n");

        // Into the container: into an existing directory, under a new name, a directory to a new path.
        Ok(Berth("cp", Path.Combine(work, "file.txt"), $"{n}:/tmp/"));
        Ok(Berth("cp", Path.Combine(work, "file.txt"), $"{n}:/tmp/renamed.txt"));
        Ok(Berth("cp", Path.Combine(work, "tree"), $"{n}:/data"));
        Assert.Equal("from host\nfrom host\ndeep\n", Berth("exec", n, "cat", "/tmp/file.txt", "/tmp/renamed.txt", "/data/sub/deep.txt").Stdout);

        // Out of it: into a directory, to a new name, as a tar on stdout; a missing path is one line and exit 1.
        Directory.CreateDirectory(Path.Combine(work, "out"));
        Ok(Berth("cp", $"{n}:/tmp/made", Path.Combine(work, "out")));
        Assert.Equal("made\n", File.ReadAllText(Path.Combine(work, "out", "made")));
        Ok(Berth("cp", $"{n}:/data", Path.Combine(work, "copied")));
        Assert.Equal("deep\n", File.ReadAllText(Path.Combine(work, "copied", "sub", "deep.txt")));
        var tar = d.Run("sh", "-c", $"DOCKER_HOST={d.DockerHost} {BerthBinary} cp {n}:/data - | tar -t");
        Assert.Contains("data/sub/deep.txt", tar.Stdout.Split('\n'));
        var missing = Berth("cp", $"{n}:/nonexistent", work);
        Assert.Equal(1, missing.Code);
        Assert.Contains("Could not find the file /nonexistent", Assert.Single(missing.ErrLines));

        var diff = Berth("diff", n).Stdout.Split('\n');
        Assert.Contains("C /tmp", diff);
        Assert.Contains("A /tmp/made", diff);
        Assert.Contains("A /data", diff);

        string image = Name() + ":committed";
        var commit = Berth("commit", "-c", "ENV COMMITTED=yes", n, image);
        Ok(commit);
        Assert.Matches("^sha256:[0-9a-f]{64}\n$", commit.Stdout);
        Assert.Equal("made yes\n", Berth("run", "--rm", image, "sh", "-c", "echo $(cat /tmp/made) $COMMITTED").Stdout);

        string exported = Path.Combine(work, "export.tar");
        Ok(Berth("export", "-o", exported, n));
        Assert.Contains(d.Run("tar", "-tf", exported).Stdout.Split('\n'), l => l.TrimStart('.', '/') == "tmp/made");
        Ok(Berth("rm", "-f", n));
        Ok(Berth("rmi", image));
    }

    [Fact]
    public void CreateStartTopStatsPauseRenameKillWaitRestartAndEvents()
    {
        if (!d.Available) return;
        string n = Name(), n2 = Name();
        long since = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        var create = Berth("create", "--name", n, "busybox", "sh", "-c", "trap 'exit 5' HUP; while true; do sleep 0.1; done");
        Ok(create);
        string id = create.Stdout.Trim();
        Assert.Equal("created\n", Berth("inspect", "-f", "{{.State.Status}}", n).Stdout);
        Assert.Equal(n + "\n", Berth("start", n).Stdout);

        var top = Berth("top", n);
        Ok(top);
        Assert.Matches(@"^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n", top.Stdout);
        Assert.Contains("sh -c trap", top.Stdout);
        var stats = Berth("stats", "--no-stream", n);
        Ok(stats);
        var statLines = stats.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+MEM %\s+NET I/O\s+BLOCK I/O\s+PIDS$", statLines[0]);
        Assert.Matches($@"^{id[..12]}\s+{n}\s+[0-9.]+%\s+[0-9.]+[KMG]?i?B / [0-9.]+[KMGT]?i?B\s+", statLines[1]);

        Assert.Equal(n + "\n", Berth("pause", n).Stdout);
        Assert.EndsWith("(Paused)\n", Berth("ps", "--filter", "name=" + n, "--format", "{{.Status}}").Stdout);
        Assert.Equal(n + "\n", Berth("unpause", n).Stdout);
        Ok(Berth("rename", n, n2));
        Assert.Equal($"/{n2}\n", Berth("inspect", "-f", "{{.Name}}", id[..12]).Stdout);
        var port = Berth("port", n2);
        Ok(port);
        Assert.Equal("", port.Stdout);

        Assert.Equal(n2 + "\n", Berth("kill", "-s", "HUP", n2).Stdout);
        Assert.Equal("5\n", Berth("wait", n2).Stdout);
        Assert.Equal(n2 + "\n", Berth("restart", "-t", "1", n2).Stdout);
        Assert.Equal("running\n", Berth("inspect", "-f", "{{.State.Status}}", n2).Stdout);
        Ok(Berth("kill", n2));
        Assert.Equal("137\n", Berth("wait", n2).Stdout);

        long until = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
        var events = Berth("events", "--since", since.ToString(), "--until", until.ToString(), "--filter", "container=" + id);
        Ok(events);
        var ev = events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(ev, l => Regex.IsMatch(l, $@"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{9}}Z container create {id} \(.*name={n}"));
        Assert.Contains(ev, l => l.Contains($" container pause {id} "));
        Assert.Contains(ev, l => l.Contains($" container die {id} ") && l.Contains("exitCode=5"));
        Ok(Berth("rm", n2));
    }

    [Fact]
    public void InteractiveTtyThroughAPseudoTerminal()
    {
        if (!d.Available) return;
        // script gives berth a terminal; the shell inside reads what we type and we see its output.
        // The terminal settings after berth must be those from before it (raw mode undone).
        string cmd = $"before=$(stty -g); DOCKER_HOST={d.DockerHost} {BerthBinary} run -it --rm busybox sh; rc=$?; " +
                     "[ \"$before\" = \"$(stty -g)\" ] && echo TERMINAL-RESTORED; exit $rc";
        var r = Typed(cmd, ("# ", "echo hello-$((6*7)) $(tty)\r"), ("hello-42", "exit 3\r"));
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Stdout} {r.Stderr}");
        Assert.Matches(@"hello-42 /dev/pts/\d+", r.Stdout);
        Assert.Contains("TERMINAL-RESTORED", r.Stdout);
    }

    [Fact]
    public void ExecInteractiveTtyAndDetachKeys()
    {
        if (!d.Available) return;
        string n = Name();
        // ctrl-p ctrl-q leaves the container running, with its terminal.
        var run = Typed($"DOCKER_HOST={d.DockerHost} {BerthBinary} run -it --name {n} busybox sh",
            ("# ", "echo first-$((1+1))\r"), ("first-2", "\x10\x11"));
        Assert.True(run.Code == 0, $"exit {run.Code}: {run.Stdout}");
        Assert.Equal("running\n", Berth("inspect", "-f", "{{.State.Status}}", n).Stdout);
        var exec = Typed($"DOCKER_HOST={d.DockerHost} {BerthBinary} exec -it {n} sh",
            ("# ", "echo exec-$((2+3)) $(tty)\r"), ("exec-5", "exit 6\r"));
        Assert.True(exec.Code == 6, $"exit {exec.Code}: {exec.Stdout}");
        Assert.Matches(@"exec-5 /dev/pts/\d+", exec.Stdout);
        Ok(Berth("rm", "-f", n));
    }

    [Fact]
    public void StartsBerthdWhenNothingAnswersOnTheDefaultSocket()
    {
        if (!d.Available) return;
        string root = Path.Combine("/tmp", "bea-" + Guid.NewGuid().ToString("N")[..8]);
        string cgroupParent = "/berth-autostart-" + Path.GetFileName(root)[4..];
        string socket = Path.Combine(root, "berth.sock");
        Directory.CreateDirectory(root);
        ProcessStartInfo Start(params string[] args)
        {
            var psi = new ProcessStartInfo(BerthBinary);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment.Remove("DOCKER_HOST");
            psi.Environment.Remove("BERTH_HOST");
            psi.Environment["BERTH_SOCKET"] = socket;
            psi.Environment["BERTH_DATA_ROOT"] = Path.Combine(root, "data");
            psi.Environment["BERTH_EXEC_ROOT"] = Path.Combine(root, "exec");
            psi.Environment["BERTH_BERTHD"] = DaemonFixture.Berthd;
            psi.Environment["BERTH_BERTHD_ARGS"] = $"--shim {DaemonFixture.Shim} --runtime {Path.Combine(DaemonFixture.RepoRoot, "artifacts", "bin", "berth-runtime")} --cgroup-parent {cgroupParent}";
            return psi;
        }
        try
        {
            var version = Exec(Start("version", "--format", "{{.Server.Version}}"), null);
            Assert.True(version.Code == 0, version.Stderr);
            Assert.Contains("berth", version.Stdout);
            Assert.True(File.Exists(socket));
            Assert.Contains("API listening on unix://" + socket, File.ReadAllText(Path.Combine(root, "data", "berthd.log")));
            Assert.Single(DaemonsServing(socket));
            // The next command finds the running daemon and starts no other.
            var ps = Exec(Start("ps", "-a"), null);
            Assert.True(ps.Code == 0, ps.Stderr);
            Assert.Matches(@"^CONTAINER ID\s+IMAGE", ps.Stdout);
            Assert.Single(DaemonsServing(socket));
            // A socket named with -H is somebody else's: berth reports it and starts nothing.
            string other = Path.Combine(root, "other.sock");
            var named = Exec(Start("-H", "unix://" + other, "ps"), null);
            Assert.Equal(1, named.Code);
            Assert.Contains($"Cannot connect to the Berth daemon at unix://{other}", Assert.Single(named.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            Assert.Empty(DaemonsServing(other));
        }
        finally
        {
            foreach (var pid in DaemonsServing(socket))
            {
                try
                {
                    using var p = Process.GetProcessById(pid);
                    p.Kill();
                    p.WaitForExit(10_000);
                }
                catch (ArgumentException) { }
            }
            foreach (var line in File.ReadAllLines("/proc/self/mountinfo").Reverse())
            {
                var mp = line.Split(' ')[4];
                if (mp.StartsWith(root, StringComparison.Ordinal)) global::Berth.Linux.Interop.LibC.umount2(mp, 2);
            }
            foreach (var h in Directory.GetDirectories("/sys/fs/cgroup").Append("/sys/fs/cgroup"))
                if (Directory.Exists(h + cgroupParent)) global::Berth.Linux.Interop.LibC.rmdir(h + cgroupParent);
            Directory.Delete(root, true);
        }
    }

    /// <summary>The berthd processes whose command line names this socket.</summary>
    private static List<int> DaemonsServing(string socket)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (argv.Length > 0 && Path.GetFileName(argv[0]) == "berthd" && argv.Contains("unix://" + socket)) pids.Add(pid);
            }
            catch (IOException) { }
        }
        return pids;
    }
}
