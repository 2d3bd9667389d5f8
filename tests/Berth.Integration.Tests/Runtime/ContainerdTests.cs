using System.Diagnostics;
using Berth.Integration.Tests.Support;

namespace Berth.Integration.Tests.Runtime;

/// <summary>
/// containerd (Debian's package) runs containers through berth-runtime in place of runc:
/// `ctr run --runc-binary`, its runc shim calling berth-runtime with runc's command line.
/// The test starts its own containerd on a private socket and root, and stops it.
/// </summary>
public sealed class ContainerdTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-ctd-").FullName;
    private readonly string _ns = "berth-test-" + Guid.NewGuid().ToString("N")[..8];
    private readonly Process _containerd;
    private readonly string _runtime = Repo.Binary("berth-runtime");
    private string Socket => Path.Combine(_dir, "containerd.sock");

    public ContainerdTests()
    {
        if (!File.Exists("/usr/bin/containerd") || !File.Exists("/usr/bin/ctr"))
            throw new InvalidOperationException("containerd is not installed (apt-get install containerd)");
        File.WriteAllText(Path.Combine(_dir, "config.toml"), $"""
            version = 2
            root = "{_dir}/root"
            state = "{_dir}/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
            [grpc]
              address = "{Socket}"
            [ttrpc]
              address = "{Socket}.ttrpc"
            [debug]
              address = "{_dir}/debug.sock"
            """);
        var psi = new ProcessStartInfo("/usr/bin/containerd") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(Path.Combine(_dir, "config.toml"));
        _containerd = Process.Start(psi)!;
        _containerd.BeginErrorReadLine();
        _containerd.BeginOutputReadLine();
        var until = DateTime.UtcNow.AddSeconds(20);
        while (Ctr("version").ExitCode != 0)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("containerd did not answer on its socket");
            Thread.Sleep(100);
        }
    }

    private CommandResult Ctr(params string[] args) =>
        Command.Run("/usr/bin/ctr", new[] { "--address", Socket, "--namespace", _ns }.Concat(args), timeoutMs: 60_000);

    [Fact]
    public void Ctr_runs_a_container_through_berth_runtime_captures_its_output_and_deletes_it()
    {
        using var bundle = new BusyboxBundle();
        var r = Ctr("run", "--runc-binary", _runtime, "--rm", "--rootfs", bundle.Rootfs, "c1", "/bin/sh", "-c", "echo hello from containerd; echo pid=$$");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("hello from containerd", r.Stdout);
        Assert.Contains("pid=1", r.Stdout);
        Assert.DoesNotContain("c1", Ctr("containers", "list", "-q").Stdout);
    }

    [Fact]
    public void The_container_containerd_starts_is_berth_runtimes_and_is_removed_with_it()
    {
        using var bundle = new BusyboxBundle();
        var r = Command.RunDetached("/usr/bin/ctr", new[] { "--address", Socket, "--namespace", _ns, "run", "-d", "--runc-binary", _runtime, "--rootfs", bundle.Rootfs, "c2", "/bin/sleep", "60" });
        Assert.True(r.ExitCode == 0, r.ToString());
        // The runc shim keeps its runtime state under /run/containerd/runc/<namespace>: ask berth-runtime.
        string root = $"/run/containerd/runc/{_ns}";
        var state = Command.Run(_runtime, new[] { "--root", root, "state", "c2" });
        Assert.True(state.ExitCode == 0, state.ToString());
        Assert.Contains("\"status\": \"running\"", state.Stdout);

        Assert.Equal(0, Ctr("task", "kill", "--signal", "SIGKILL", "c2").ExitCode);
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!Ctr("task", "list").Stdout.Split('\n').Any(l => l.StartsWith("c2") && l.Contains("STOPPED")))
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("the task did not stop");
            Thread.Sleep(100);
        }
        Assert.Equal(0, Ctr("task", "delete", "c2").ExitCode);
        Assert.Equal(0, Ctr("container", "delete", "c2").ExitCode);
        Assert.NotEqual(0, Command.Run(_runtime, new[] { "--root", root, "state", "c2" }).ExitCode);
    }

    public void Dispose()
    {
        foreach (var id in new[] { "c1", "c2" })
        {
            Ctr("task", "kill", "--signal", "SIGKILL", id);
            Ctr("task", "delete", "--force", id);
            Ctr("container", "delete", id);
        }
        Ctr("namespaces", "remove", _ns);
        try { _containerd.Kill(entireProcessTree: false); _containerd.WaitForExit(10_000); } catch (InvalidOperationException) { }
        // Any shim left behind by a failed test belongs to our namespace: end it too.
        Command.Sh($"pkill -f 'containerd-shim-runc-v2 -namespace {_ns}' || true");
        foreach (var m in File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(p => p.StartsWith(_dir)).Reverse())
            Command.Run("/bin/umount", new[] { "-l", m });
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        try { Directory.Delete($"/run/containerd/runc/{_ns}", recursive: true); } catch (IOException) { }
    }
}
