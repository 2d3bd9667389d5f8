using System.Security.Cryptography;
using Berth.Integration.Tests.Support;
using Berth.Oci.Runtime;

namespace Berth.Integration.Tests.Runtime;

/// <summary>One regression test per container-escape class the runtime defends against.</summary>
public sealed class EscapeRegressionTests : IDisposable
{
    private readonly RuntimeHarness _rt = new();
    public void Dispose() => _rt.Dispose();

    /// <summary>
    /// CVE-2019-5736: a process in the container writes to the runtime binary through
    /// /proc/PID/exe of the runtime's init. The init runs from a read-only bind mount private
    /// to its mount namespace (exec: from a sealed memfd), so the write fails and the binary on
    /// the host is unchanged.
    /// </summary>
    [Fact]
    public void The_runtime_binary_cannot_be_overwritten_through_proc_exe()
    {
        string before = Hash(_rt.Binary);
        // A created container: its init is berth-runtime, waiting on exec.fifo.
        using var victim = new BusyboxBundle("/bin/true");
        string victimId = _rt.NewId("victim");
        _rt.Place(victim, victimId);
        var created = _rt.Detached("create", "--bundle", victim.Write(), victimId);
        Assert.True(created.ExitCode == 0, created.ToString());
        int initPid = int.Parse(System.Text.Json.JsonDocument.Parse(_rt.Run("state", victimId).Stdout).RootElement.GetProperty("pid").GetInt32().ToString());
        // It runs from a read-only bind mount (or a sealed memfd): even the host cannot write through its exe link.
        // The host's binary sits on a writable mount; what the init runs from must not be writable, ever
        // (a write would otherwise only wait for ETXTBSY to end): a read-only mount, or a sealed memfd.
        Assert.Equal(0UL, Berth.Linux.Interop.LibC.MountFlags(_rt.Binary) & Berth.Linux.Interop.MS.RDONLY);
        string exe = $"/proc/{initPid}/exe";
        bool sealedMemfd = new FileInfo(exe).LinkTarget!.StartsWith("/memfd:");
        Assert.True(sealedMemfd || (Berth.Linux.Interop.LibC.MountFlags(exe) & Berth.Linux.Interop.MS.RDONLY) != 0,
            $"{exe} -> {new FileInfo(exe).LinkTarget} is on a writable mount");

        // An attacker in the same PID namespace, with every capability, opens /proc/1/exe for writing.
        using var attacker = new BusyboxBundle().Script("echo pwned >> /proc/1/exe && echo WROTE || echo refused");
        attacker.Spec.Linux!.Namespaces!.RemoveAll(n => n.Type == "pid");
        attacker.Spec.Linux.Namespaces.Add(new LinuxNamespace { Type = "pid", Path = $"/proc/{initPid}/ns/pid" });
        attacker.Spec.Process!.Capabilities = AllCaps();
        var r = _rt.RunBundle(attacker);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("refused", r.Stdout);
        Assert.DoesNotContain("WROTE", r.Stdout);
        Assert.Equal(before, Hash(_rt.Binary));
    }

    /// <summary>
    /// CVE-2024-21626: a host descriptor (runc leaked one to /sys/fs/cgroup) reaches the
    /// container, and a cwd of /proc/self/fd/N walks out of the rootfs. The container's
    /// process has only stdio, and every cwd resolves inside the root.
    /// </summary>
    [Fact]
    public void No_host_descriptor_or_host_cwd_reaches_the_container()
    {
        using var b = new BusyboxBundle().Script("ls /proc/self/fd | tr '\\n' ' '; echo; readlink /proc/1/cwd");
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        // 0 1 2 and the directory ls itself opened to read /proc/self/fd.
        Assert.Equal(new[] { "0", "1", "2", "3" }, lines[0].Trim().Split(' '));
        Assert.Equal("/", lines[1].Trim());

        for (int fd = 3; fd < 12; fd++)
        {
            using var evil = new BusyboxBundle().Script("pwd; ls -a .. | head -50");
            evil.Spec.Process!.Cwd = $"/proc/self/fd/{fd}";
            var e = _rt.RunBundle(evil);
            // Either refused, or the cwd is inside the container (it holds no host tree).
            if (e.ExitCode == 0)
            {
                Assert.DoesNotContain("/sys/fs/cgroup", e.Stdout);
                Assert.DoesNotContain("work", e.Stdout);
            }
        }
    }

    /// <summary>
    /// CVE-2021-30465: a symlink in the rootfs points a mount target outside it. Targets are
    /// resolved with the rootfs as "/", so the mount lands inside and the host path is untouched.
    /// </summary>
    [Fact]
    public void A_symlink_in_the_rootfs_cannot_send_a_mount_outside_it()
    {
        using var outside = new TempDir();
        using var b = new BusyboxBundle().Script("ls /escape/; cat /escape/marker");
        // /escape -> <a host directory>, absolute and through "..": both must stay inside.
        File.CreateSymbolicLink(Path.Combine(b.Rootfs, "escape"), outside.Path);
        File.CreateSymbolicLink(Path.Combine(b.Rootfs, "up"), "../../../../../../../" + outside.Path.TrimStart('/'));
        using var src = new TempDir();
        File.WriteAllText(Path.Combine(src.Path, "marker"), "inside");
        b.Spec.Mounts!.Add(new Mount { Destination = "/escape", Type = "bind", Source = src.Path, Options = new() { "rbind" } });
        b.Spec.Mounts.Add(new Mount { Destination = "/up/deeper", Type = "tmpfs", Source = "tmpfs" });
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("inside", r.Stdout);
        // The host directory the symlinks name got nothing: no mount, no new entry.
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside.Path));
        Assert.DoesNotContain(outside.Path, File.ReadAllText("/proc/self/mountinfo"));
        // The mounts went to the matching paths inside the rootfs instead.
        Assert.True(Directory.Exists(Path.Combine(b.Rootfs, outside.Path.TrimStart('/'))));
    }

    /// <summary>Every capability this host lets the runtime hold (its own permitted set).</summary>
    private static Capabilities AllCaps()
    {
        string prm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapPrm:")).Split('\t')[1];
        ulong mask = Convert.ToUInt64(prm, 16);
        var all = Enumerable.Range(0, Berth.Linux.Security.Capabilities.LastCap + 1)
            .Where(i => (mask & (1UL << i)) != 0).Select(Berth.Linux.Security.Capabilities.NameOf).ToList();
        return new Capabilities { Bounding = all, Effective = all, Permitted = all, Inheritable = new(), Ambient = new() };
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
