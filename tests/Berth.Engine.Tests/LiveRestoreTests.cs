using System.Diagnostics;

namespace Berth.Engine.Tests;

/// <summary>
/// Live restore: containers outlive a kill -9 of berthd, their shims keep logging while no daemon
/// runs, and the restarted daemon finds them again and learns of the exits it missed.
/// A daemon of its own, since the test kills it.
/// </summary>
public sealed class LiveRestoreTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private static void Ok((int Code, string Stdout, string Stderr) r) => DockerCliTests.Ok(r);

    private string RunDetached(string name, string script)
    {
        var r = d.Docker("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c", script);
        Ok(r);
        return r.Stdout.Trim();
    }

    private int Pid(string name) => int.Parse(d.Docker("inspect", "-f", "{{.State.Pid}}", name).Stdout.Trim());

    private static void WaitFor(Func<bool> condition, string what, int seconds = 30)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"timed out waiting for {what}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Complete lines in a json-file log (the last one may still be half written).</summary>
    private static int LogLines(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var buf = new byte[64 * 1024];
        int lines = 0, n;
        while ((n = fs.Read(buf)) > 0) lines += buf.AsSpan(0, n).Count((byte)'\n');
        return lines;
    }

    private static bool ShimRunsFor(string id) =>
        Directory.GetDirectories("/proc").Any(p =>
        {
            try { string cmd = File.ReadAllText(Path.Combine(p, "cmdline")); return cmd.Contains("berth-shim") && cmd.Contains(id); }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        });

    [Fact]
    public void ContainersSurviveAKill9OfTheDaemonWithGaplessLogsAndTheExitsItMissed()
    {
        string p = "lr" + Guid.NewGuid().ToString("N")[..8];
        string counter = p + "-count", sleeper = p + "-sleep", tailer = p + "-tail", quitter = p + "-quit";
        RunDetached(counter, "i=0; while :; do echo $i; i=$((i+1)); usleep 10000; done");
        RunDetached(sleeper, "exec sleep 1000");
        RunDetached(tailer, "exec tail -f /dev/null");
        // PID 1 ignores signals it has no handler for: this one exits 7 on SIGTERM.
        string quitterId = RunDetached(quitter, "trap 'exit 7' TERM; while :; do usleep 10000; done");
        string log = d.Docker("inspect", "-f", "{{.LogPath}}", counter).Stdout.Trim();
        WaitFor(() => LogLines(log) >= 20, "the counter's first lines");
        var pids = new[] { counter, sleeper, tailer }.ToDictionary(n => n, Pid);
        int quitterPid = Pid(quitter);

        d.KillDaemon();
        try
        {
            // While no daemon runs: the shim keeps writing the log, and a container exits.
            int atKill = LogLines(log);
            WaitFor(() => LogLines(log) >= atKill + 50, "log lines written while the daemon is down");
            Assert.Equal(0, Berth.Linux.Interop.LibC.kill(quitterPid, 15));
            WaitFor(() => !Directory.Exists($"/proc/{quitterPid}") && !ShimRunsFor(quitterId), "the quitter and its shim to exit");
            foreach (var (n, pid) in pids) Assert.True(Directory.Exists($"/proc/{pid}"), $"{n} died with the daemon");
        }
        finally { d.StartDaemon(); }

        foreach (var (n, pid) in pids)
            Assert.Equal($"running {pid}", d.Docker("inspect", "-f", "{{.State.Status}} {{.State.Pid}}", n).Stdout.Trim());
        Assert.Equal("exited 7 false", d.Docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}", quitter).Stdout.Trim());
        Assert.Equal("7", d.Docker("wait", quitter).Stdout.Trim());
        var ps = d.Docker("ps", "--filter", "name=" + p, "--format", "{{.Names}}").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(new[] { counter, sleeper, tailer }.Order(), ps.Order());

        // The restored daemon drives the shims it found: logs still grow, stop works, wait answers.
        int atRestart = LogLines(log);
        WaitFor(() => LogLines(log) >= atRestart + 20, "log lines after the restart");
        Ok(d.Docker("stop", "-t", "1", counter));
        Assert.Equal("137", d.Docker("wait", counter).Stdout.Trim());

        var logs = d.Docker("logs", counter);
        Ok(logs);
        var numbers = logs.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        Assert.True(numbers.Count >= atRestart + 20, $"{numbers.Count} lines");
        for (int i = 0; i < numbers.Count; i++)
            Assert.True(numbers[i] == i, $"line {i} is {numbers[i]}: a line was lost or repeated");

        Ok(d.Docker("rm", "-f", counter, sleeper, tailer, quitter));
        foreach (var pid in pids.Values) WaitFor(() => !Directory.Exists($"/proc/{pid}"), $"pid {pid} to end");
    }

    [Fact]
    public void A_container_on_a_network_with_a_published_port_is_reachable_again_after_a_kill9_of_the_daemon()
    {
        string p = "ln" + Guid.NewGuid().ToString("N")[..8];
        string net = p + "-net", web = p + "-web";
        Ok(d.Docker("network", "create", net));
        string netId = d.Docker("network", "inspect", "-f", "{{.Id}}", net).Stdout.Trim();
        try
        {
            Ok(d.Docker("run", "-d", "--name", web, "--network", net, "--network-alias", "site", "-p", "127.0.0.1::80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"));
            int port = int.Parse(d.Docker("port", web, "80").Stdout.Trim().Split(':')[^1]);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            Assert.StartsWith("root:x:0:0", http.GetStringAsync($"http://127.0.0.1:{port}/passwd").Result);

            d.KillDaemon();
            try
            {
                // The bridge and the container's pair stay while no daemon runs (only the proxy is gone with it).
                Assert.Contains($"br-{netId[..12]}", File.ReadAllText("/proc/net/dev"));
            }
            finally { d.StartDaemon(); }

            Assert.Equal($"127.0.0.1:{port}", d.Docker("port", web, "80").Stdout.Trim());
            string body = "";
            WaitFor(() =>
            {
                try { body = http.GetStringAsync($"http://127.0.0.1:{port}/passwd").Result; return true; }
                catch (AggregateException) { return false; }
            }, "the published port after the restart", 15);
            Assert.StartsWith("root:x:0:0", body);
            var peer = d.Docker("run", "--rm", "--network", net, "busybox", "wget", "-q", "-O-", "http://site/group");
            Ok(peer);
            Assert.StartsWith("root:x:0:", peer.Stdout);

            Ok(d.Docker("rm", "-f", web));
            // Its pair is gone from the bridge (the restored daemon cleaned up after the container it found).
            Assert.Empty(Directory.GetFileSystemEntries($"/sys/class/net/br-{netId[..12]}/brif"));
        }
        finally
        {
            d.Docker("rm", "-f", web);
            d.Docker("network", "rm", net);
        }
        Assert.DoesNotContain($"br-{netId[..12]}", File.ReadAllText("/proc/net/dev"));
    }
}
