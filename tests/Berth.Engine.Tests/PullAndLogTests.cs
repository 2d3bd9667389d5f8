using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Berth.Engine.Tests;

[Collection("daemon")]
public sealed class PullAndLogTests(DaemonFixture d)
{
    [Fact]
    public void RunPullsAMissingImageFromALocalRegistry()
    {
        if (!File.Exists("/usr/bin/docker-registry") || !File.Exists("/usr/bin/skopeo") || !File.Exists("/usr/bin/umoci")) return;
        string dir = Path.Combine(d.Root, "registry");
        Directory.CreateDirectory(dir);
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; }
        File.WriteAllText(Path.Combine(dir, "config.yml"), $"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {dir}/data\nhttp:\n  addr: 127.0.0.1:{port}\n");
        using var reg = Process.Start(new ProcessStartInfo("docker-registry", ["serve", Path.Combine(dir, "config.yml")]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            string layout = Path.Combine(dir, "layout"), bundle = Path.Combine(dir, "bundle");
            DockerCliTests.Ok(d.Run("umoci", "init", "--layout", layout));
            DockerCliTests.Ok(d.Run("umoci", "new", "--image", layout + ":latest"));
            DockerCliTests.Ok(d.Run("umoci", "unpack", "--image", layout + ":latest", bundle));
            DockerCliTests.Ok(d.Run("cp", "-a", Path.Combine(d.Root, "rootfs-busybox") + "/.", Path.Combine(bundle, "rootfs")));
            DockerCliTests.Ok(d.Run("umoci", "repack", "--image", layout + ":latest", bundle));
            for (int i = 0; i < 50 && !Listening(port); i++) Thread.Sleep(100);
            DockerCliTests.Ok(d.Run("skopeo", "copy", "--dest-tls-verify=false", $"oci:{layout}:latest", $"docker://127.0.0.1:{port}/bb:1"));
            var run = d.Docker("run", "--rm", $"127.0.0.1:{port}/bb:1", "echo", "pulled");
            Assert.True(run.Code == 0, run.Stderr);
            Assert.Equal("pulled\n", run.Stdout);
            Assert.Contains("Unable to find image", run.Stderr);
            Assert.Contains("Downloaded newer image", run.Stderr);
            var missing = d.Docker("pull", $"127.0.0.1:{port}/bb:nope");
            Assert.NotEqual(0, missing.Code);
            Assert.Contains("not found", missing.Stderr);
        }
        finally { reg.Kill(); reg.WaitForExit(5000); }
    }

    private static bool Listening(int port)
    {
        try { using var c = new TcpClient(); c.Connect(IPAddress.Loopback, port); return true; }
        catch (SocketException) { return false; }
    }

    [Fact]
    public void JsonFileLogRotates()
    {
        string n = "rot" + Guid.NewGuid().ToString("N")[..8];
        DockerCliTests.Ok(d.Docker("run", "-d", "--name", n, "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox", "sh", "-c",
            "for i in $(seq 1 200); do echo line-$i-xxxxxxxxxxxxxxxx; done"));
        Assert.Equal("0", d.Docker("wait", n).Stdout.Trim());
        string log = d.Docker("inspect", "-f", "{{.LogPath}}", n).Stdout.Trim();
        Assert.True(File.Exists(log + ".1") && File.Exists(log + ".2") && !File.Exists(log + ".3"));
        Assert.True(new FileInfo(log + ".1").Length <= 1024);
        var logs = d.Docker("logs", n).Stdout;
        Assert.EndsWith("line-200-xxxxxxxxxxxxxxxx\n", logs);
        Assert.StartsWith("{\"log\":\"line-", File.ReadAllLines(log + ".1")[0]);
        DockerCliTests.Ok(d.Docker("rm", n));
    }
}
