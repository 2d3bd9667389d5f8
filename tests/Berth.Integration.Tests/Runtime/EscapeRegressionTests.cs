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
    /// <remarks>
    /// In a user namespace the container's root owns its mount namespace and could remount a bind
    /// made there read-write: the bind is made outside it (by the C stage, as host root, in a private
    /// namespace), so the attacker, root in that user namespace, can neither write nor remount it.
    /// </remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_runtime_binary_cannot_be_overwritten_through_proc_exe(bool userNamespace)
    {
        string before = Hash(_rt.Binary);
        // A created container: its init is berth-runtime, waiting on exec.fifo.
        using var victim = new BusyboxBundle("/bin/true");
        if (userNamespace)
        {
            victim.Spec.Linux!.Namespaces!.Add(new LinuxNamespace { Type = "user" });
            victim.Spec.Linux.UidMappings = new() { new IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
            victim.Spec.Linux.GidMappings = new() { new IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
        }
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
        // With a mount namespace of its own (in a user namespace too), the init runs from the bind.
        Assert.False(sealedMemfd, $"{exe} -> {new FileInfo(exe).LinkTarget}: a memfd copy, not the read-only bind");
        Assert.True(sealedMemfd || (Berth.Linux.Interop.LibC.MountFlags(exe) & Berth.Linux.Interop.MS.RDONLY) != 0,
            $"{exe} -> {new FileInfo(exe).LinkTarget} is on a writable mount");

        // An attacker in the same PID namespace (and user namespace), with every capability, opens
        // /proc/1/exe for writing, and tries to make the mount under it writable.
        using var attacker = new BusyboxBundle().Script(
            "echo pwned >> /proc/1/exe && echo WROTE || echo refused; mount -o remount,bind,rw /proc/1/exe && echo REMOUNTED || echo kept; echo pwned >> /proc/1/exe && echo WROTE2 || echo refused2");
        attacker.Spec.Linux!.Namespaces!.RemoveAll(n => n.Type == "pid");
        attacker.Spec.Linux.Namespaces.Add(new LinuxNamespace { Type = "pid", Path = $"/proc/{initPid}/ns/pid" });
        if (userNamespace) attacker.Spec.Linux.Namespaces.Add(new LinuxNamespace { Type = "user", Path = $"/proc/{initPid}/ns/user" });
        attacker.Spec.Process!.Capabilities = AllCaps();
        var r = _rt.RunBundle(attacker);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("refused", r.Stdout);
        Assert.Contains("kept", r.Stdout);
        Assert.Contains("refused2", r.Stdout);
        Assert.DoesNotContain("WROTE", r.Stdout);
        Assert.DoesNotContain("REMOUNTED", r.Stdout);
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
