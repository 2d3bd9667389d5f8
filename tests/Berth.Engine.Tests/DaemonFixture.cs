using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Berth.Engine.Tests;

/// <summary>
/// An isolated berthd for the tests: temporary data and exec roots, its own socket and cgroup
/// parent, test images imported through the real docker CLI. Dispose stops containers, shims
/// and the daemon, unmounts what is left under the roots and removes the cgroups.
/// </summary>
public sealed class DaemonFixture : IDisposable
{
    public string Root { get; }
    public string Socket => Path.Combine(Root, "b.sock");
    public string CgroupParent { get; }
    public string DockerHost => "unix://" + Socket;
    private Process? _daemon;
    public static readonly string RepoRoot = FindRepoRoot();
    public bool Available { get; }
    public string? SkipReason { get; }

    public DaemonFixture()
    {
        string rand = Guid.NewGuid().ToString("N")[..8];
        Root = Path.Combine("/tmp", "bet-" + rand);
        CgroupParent = "/berth-test-" + rand;
        Directory.CreateDirectory(Root);
        if (Environment.UserName != "root" || !File.Exists("/usr/local/bin/docker") && !File.Exists("/usr/bin/docker"))
        {
            SkipReason = "needs root and the docker CLI";
            return;
        }
        StartDaemon();
        ImportImage("busybox:latest", withGlibc: false);
        ImportImage("bbg:latest", withGlibc: true);
        Available = true;
    }

    public static string Berthd => Path.Combine(RepoRoot, "src", "berthd", "bin", Config, "net10.0", "berthd");
    public static string Shim
    {
        get
        {
            string aot = Path.Combine(RepoRoot, "artifacts", "bin", "berth-shim");
            return File.Exists(aot) && Environment.GetEnvironmentVariable("BERTH_TEST_JIT_SHIM") is null ? aot : Path.Combine(RepoRoot, "src", "berth-shim", "bin", Config, "net10.0", "berth-shim");
        }
    }
    private static string Config => AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";

    public void StartDaemon()
    {
        var psi = new ProcessStartInfo(Berthd)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--data-root", Path.Combine(Root, "data"), "--exec-root", Path.Combine(Root, "exec"), "-H", DockerHost,
                     "--shim", Shim, "--runtime", Path.Combine(RepoRoot, "artifacts", "bin", "berth-runtime"), "--cgroup-parent", CgroupParent })
            psi.ArgumentList.Add(a);
        _daemon = Process.Start(psi)!;
        var log = new StreamWriter(Path.Combine(Root, "berthd.log"), append: true) { AutoFlush = true };
        _daemon.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _daemon.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        var until = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < until)
        {
            if (_daemon.HasExited) throw new InvalidOperationException($"berthd exited: {File.ReadAllText(Path.Combine(Root, "berthd.log"))}");
            if (Raw("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n").Contains(" 200 ")) return;
            Thread.Sleep(200);
        }
        throw new TimeoutException("berthd did not answer /_ping");
    }

    /// <summary>kill -9 of the daemon (its shims and containers stay).</summary>
    public void KillDaemon()
    {
        if (_daemon is null) return;
        try { _daemon.Kill(); } catch (InvalidOperationException) { }
        _daemon.WaitForExit(10000);
        _daemon = null;
    }

    private void ImportImage(string reference, bool withGlibc)
    {
        string rootfs = Path.Combine(Root, "rootfs-" + reference.Split(':')[0]);
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        foreach (var d in new[] { "etc", "proc", "sys", "dev", "tmp", "root" }) Directory.CreateDirectory(Path.Combine(rootfs, d));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin", "busybox"));
        var list = Run("/bin/busybox", "--list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var a in list) if (a != "busybox") File.CreateSymbolicLink(Path.Combine(rootfs, "bin", a), "busybox");
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        if (withGlibc)
        {
            // berth-runtime exec re-executes itself after joining the container's mount namespace,
            // so today it needs the host's dynamic loader and libc inside the image.
            Directory.CreateDirectory(Path.Combine(rootfs, "lib64"));
            Directory.CreateDirectory(Path.Combine(rootfs, "lib", "x86_64-linux-gnu"));
            File.Copy("/lib64/ld-linux-x86-64.so.2", Path.Combine(rootfs, "lib64", "ld-linux-x86-64.so.2"));
            foreach (var l in new[] { "libc.so.6", "libm.so.6", "libseccomp.so.2" })
                if (File.Exists("/lib/x86_64-linux-gnu/" + l)) File.Copy("/lib/x86_64-linux-gnu/" + l, Path.Combine(rootfs, "lib", "x86_64-linux-gnu", l));
        }
        string tar = rootfs + ".tar";
        var r = Run("tar", "-C", rootfs, "-cf", tar, ".");
        Assert.Equal(0, r.Code);
        var imp = Run("sh", "-c", $"docker import -c 'CMD [\"sh\"]' - {reference} < {tar}");
        Assert.True(imp.Code == 0, imp.Stderr);
    }

    public (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerWithInput(null, args);

    /// <summary>docker-compose -p PROJECT ARGS in <paramref name="dir"/> against this daemon: exit code and all it printed.</summary>
    public (int Code, string Output) Compose(string dir, string project, params string[] args)
    {
        var psi = new ProcessStartInfo("docker-compose") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DOCKER_HOST"] = DockerHost;
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(Root, "docker-config");
        psi.ArgumentList.Add("-p");
        psi.ArgumentList.Add(project);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromSeconds(180))) { p.Kill(true); return (-1, "docker-compose timed out: " + o + err.Result); }
        return (p.ExitCode, o + err.Result);
    }

    public (int Code, string Stdout, string Stderr) DockerWithInput(string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("docker") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["DOCKER_HOST"] = DockerHost;
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(Root, "docker-config");
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Exec(psi, stdin, TimeSpan.FromSeconds(90));
    }

    public (int Code, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["DOCKER_HOST"] = DockerHost;
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(Root, "docker-config");
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Exec(psi, null, TimeSpan.FromSeconds(90));
    }

    private static (int, string, string) Exec(ProcessStartInfo psi, string? stdin, TimeSpan timeout)
    {
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException($"{psi.FileName} {string.Join(' ', psi.ArgumentList)} timed out"); }
        return (p.ExitCode, so.Result, se.Result);
    }

    /// <summary>One raw HTTP/1.1 exchange on the API socket (for what the CLI does not show: status lines, headers).</summary>
    public string Raw(string request)
    {
        try
        {
            using var s = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(Socket));
            s.Send(Encoding.ASCII.GetBytes(request));
            s.ReceiveTimeout = 5000;
            var buf = new byte[65536];
            int n = s.Receive(buf);
            return Encoding.UTF8.GetString(buf, 0, Math.Max(0, n));
        }
        catch (SocketException) { return ""; }
    }

    public void Dispose()
    {
        if (Available)
        {
            try
            {
                var ids = Docker("ps", "-aq").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                foreach (var id in ids) Docker("rm", "-f", id);
            }
            catch (Exception) { }
        }
        KillDaemon();
        // Shims (and their containers) started from this root that are still there.
        foreach (var dir in Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                string cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmd.Contains("berth-shim") && cmd.Contains(Root)) Process.GetProcessById(int.Parse(Path.GetFileName(dir))).Kill();
            }
            catch (Exception) { }
        }
        string runtimeRoot = Path.Combine(Root, "exec", "runtime");
        if (Directory.Exists(runtimeRoot))
            foreach (var c in Directory.GetDirectories(runtimeRoot))
                Run(Path.Combine(RepoRoot, "artifacts", "bin", "berth-runtime"), "--root", runtimeRoot, "delete", "--force", Path.GetFileName(c));
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo").Reverse())
        {
            var mp = line.Split(' ')[4];
            if (mp.StartsWith(Root, StringComparison.Ordinal)) Berth.Linux.Interop.LibC.umount2(mp, 2);
        }
        foreach (var h in Directory.GetDirectories("/sys/fs/cgroup").Append("/sys/fs/cgroup"))
        {
            string p = h + CgroupParent;
            if (!Directory.Exists(p)) continue;
            foreach (var d in Directory.GetDirectories(p, "*", SearchOption.AllDirectories).OrderByDescending(x => x.Length))
                Berth.Linux.Interop.LibC.rmdir(d);
            Berth.Linux.Interop.LibC.rmdir(p);
        }
        try { Directory.Delete(Root, true); } catch (Exception) { }
    }

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Berth.slnx"))) return d.FullName;
        return "/work/main";
    }
}

[CollectionDefinition("daemon")]
public sealed class DaemonCollection : ICollectionFixture<DaemonFixture> { }
