using Berth.Integration.Tests.Support;
using Berth.Oci.Runtime;

namespace Berth.Integration.Tests.Runtime;

/// <summary>What each runtime feature promises, checked from inside a real busybox container.</summary>
public sealed class ContainerFeatureTests : IDisposable
{
    private readonly RuntimeHarness _rt = new();
    public void Dispose() => _rt.Dispose();

    [Fact]
    public void Hostname_and_pid1_are_the_containers_own()
    {
        using var b = new BusyboxBundle().Script("hostname; echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '");
        b.Spec.Hostname = "berth-box";
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        Assert.Equal("berth-box", lines[0]);
        Assert.Equal("pid=1", lines[1]);
        Assert.StartsWith("/bin/sh -c", lines[2]);
    }

    [Fact]
    public void Mounts_from_the_config_are_in_mountinfo_and_the_root_is_pivoted()
    {
        using var b = new BusyboxBundle().Script("cat /proc/self/mountinfo");
        using var host = new TempDir();
        File.WriteAllText(Path.Combine(host.Path, "hello.txt"), "from the host");
        b.Spec.Mounts!.Add(new Mount { Destination = "/data", Type = "bind", Source = host.Path, Options = new() { "rbind", "ro" } });
        b.Spec.Mounts.Add(new Mount { Destination = "/scratch", Type = "tmpfs", Source = "tmpfs", Options = new() { "nosuid", "size=1m" } });
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        var mounts = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToList();
        var byTarget = mounts.GroupBy(f => f[4]).ToDictionary(g => g.Key, g => g.Last());
        Assert.True(byTarget.ContainsKey("/"), r.Stdout);
        Assert.Contains("ro", byTarget["/data"][5].Split(','));
        Assert.Equal("tmpfs", byTarget["/scratch"][byTarget["/scratch"].ToList().IndexOf("-") + 1]);
        Assert.Contains("nosuid", byTarget["/scratch"][5].Split(','));
        Assert.Equal("proc", byTarget["/proc"][byTarget["/proc"].ToList().IndexOf("-") + 1]);
        Assert.Contains("/dev/pts", byTarget.Keys);
        Assert.Contains("/sys/fs/cgroup", byTarget.Keys);
        // Nothing of the host's own tree is visible: no /work, no /home mount points.
        Assert.DoesNotContain(byTarget.Keys, k => k.StartsWith("/work") || k == "/home");
    }

    /// <summary>
    /// pivot_root refuses a root whose parent mount is shared: after a recursive slave (the default),
    /// private or unbindable nothing is; with shared propagation the init first makes the parent private.
    /// Each setting must give a pivoted root with the asked propagation on "/".
    /// </summary>
    [Theory]
    [InlineData("rslave", false)] // (master:N too where the host's mount is shared; here it is private)
    [InlineData("rprivate", false)]
    [InlineData("shared", true)]
    [InlineData("rshared", true)]
    [InlineData("unbindable", false)]
    public void Every_rootfs_propagation_gives_a_pivoted_root_with_that_propagation(string propagation, bool shared)
    {
        using var b = new BusyboxBundle().Script("cat /proc/self/mountinfo");
        b.Spec.Linux!.RootfsPropagation = propagation;
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL FIELDS...] - FSTYPE SOURCE SUPER
        var root = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Last(f => f[4] == "/");
        var optional = root[6..Array.IndexOf(root, "-")];
        Assert.Equal(shared, optional.Any(o => o.StartsWith("shared:")));
        if (propagation == "rprivate") Assert.Empty(optional);
        Assert.Equal(propagation == "unbindable", optional.Contains("unbindable"));
    }

    [Fact]
    public void Capabilities_are_exactly_the_configured_sets()
    {
        using var b = new BusyboxBundle().Script("grep Cap /proc/self/status");
        var caps = new List<string> { "CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE" };
        b.Spec.Process!.Capabilities = new Capabilities { Bounding = caps, Effective = caps, Permitted = caps, Inheritable = new() };
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        // CAP_CHOWN=0, CAP_KILL=5, CAP_NET_BIND_SERVICE=10: 0x421.
        Assert.Contains("CapEff:\t0000000000000421", r.Stdout);
        Assert.Contains("CapPrm:\t0000000000000421", r.Stdout);
        Assert.Contains("CapBnd:\t0000000000000421", r.Stdout);
        Assert.Contains("CapInh:\t0000000000000000", r.Stdout);
        Assert.Contains("CapAmb:\t0000000000000000", r.Stdout);
    }

    [Fact]
    public void Seccomp_denied_syscall_returns_the_configured_errno()
    {
        // mkdir(2) and mkdirat(2) return EOPNOTSUPP (95); everything else is allowed.
        using var b = new BusyboxBundle().Script("mkdir /tmp/x; echo rc=$?; ls -d /tmp");
        b.Spec.Linux!.Seccomp = new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_ALLOW",
            Architectures = new() { "SCMP_ARCH_X86_64" },
            Syscalls = new() { new LinuxSyscall { Names = new() { "mkdir", "mkdirat" }, Action = "SCMP_ACT_ERRNO", ErrnoRet = 95 } },
        };
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Operation not supported", r.Stderr);
        Assert.Contains("rc=1", r.Stdout);
        Assert.Contains("/tmp", r.Stdout);
    }

    [Fact]
    public void A_cached_seccomp_program_is_used_only_while_nobody_else_can_write_it()
    {
        CommandResult RunDenied()
        {
            using var b = new BusyboxBundle().Script("mkdir /tmp/x; echo rc=$?");
            b.Spec.Linux!.Seccomp = new LinuxSeccomp
            {
                DefaultAction = "SCMP_ACT_ALLOW",
                Syscalls = new() { new LinuxSyscall { Names = new() { "mkdir", "mkdirat" }, Action = "SCMP_ACT_ERRNO", ErrnoRet = 95 } },
            };
            var r = _rt.RunBundle(b);
            Assert.True(r.ExitCode == 0, r.ToString());
            return r;
        }

        // The first create compiles and keeps the program, 0600 in a 0700 folder of the root.
        Assert.Contains("rc=1", RunDenied().Stdout);
        string folder = Path.Combine(_rt.Root, "@seccomp");
        Assert.Equal((UnixFileMode)0x1c0, File.GetUnixFileMode(folder));
        string entry = Assert.Single(Directory.GetFiles(folder));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(entry));
        DateTime written = File.GetLastWriteTimeUtc(entry);
        // The second reads it back (the entry is not rewritten) and denies the same.
        var again = RunDenied();
        Assert.Contains("rc=1", again.Stdout);
        Assert.Contains("Operation not supported", again.Stderr);
        Assert.Equal(written, File.GetLastWriteTimeUtc(entry));

        // An entry that anyone could have written is not trusted: swap its program for "allow
        // everything" and make it 0666; the container must still be denied.
        byte[] data = File.ReadAllBytes(entry);
        int idLen = BitConverter.ToInt32(data, 4);
        int bpfAt = 4 + 4 + idLen + 4 + 1;
        int bpfLen = BitConverter.ToInt32(data, bpfAt);
        byte[] allowAll = [0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f]; // BPF_RET|BPF_K, SECCOMP_RET_ALLOW
        byte[] forged = [.. data[..bpfAt], .. BitConverter.GetBytes(allowAll.Length), .. allowAll, .. data[(bpfAt + 4 + bpfLen)..]];
        File.WriteAllBytes(entry, forged);
        File.SetUnixFileMode(entry, (UnixFileMode)0x1b6);
        Assert.Contains("rc=1", RunDenied().Stdout);
        // ... and it was replaced by a fresh entry of ours.
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(entry));
        Assert.NotEqual(forged, File.ReadAllBytes(entry));
    }

    [Fact]
    public void The_loopback_annotation_brings_lo_up_in_the_containers_network_namespace()
    {
        string Lo(bool annotate)
        {
            using var b = new BusyboxBundle().Script("ip -o link show lo");
            if (!b.Spec.Linux!.Namespaces!.Any(n => n.Type == "network")) b.Spec.Linux.Namespaces.Add(new LinuxNamespace { Type = "network" });
            if (annotate) (b.Spec.Annotations ??= new())["run.berth.loopback"] = "up";
            var r = _rt.RunBundle(b);
            Assert.True(r.ExitCode == 0, r.ToString());
            return r.Stdout;
        }
        // A new network namespace starts with lo down (as runc leaves it); the engine's annotation asks the init to bring it up.
        Assert.Contains("<LOOPBACK>", Lo(annotate: false));
        Assert.Matches(@"<LOOPBACK,UP,LOWER_UP>", Lo(annotate: true));
    }

    [Fact]
    public void Masked_paths_are_unreadable_and_readonly_paths_are_read_only()
    {
        using var b = new BusyboxBundle().Script(
            "echo cmdline=$(wc -c < /proc/cmdline); echo fs=$(ls /proc/fs | wc -l); " +
            "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null; echo sysrc=$?");
        Assert.True(new FileInfo("/proc/cmdline").Length >= 0 && Directory.EnumerateFileSystemEntries("/proc/fs").Any(), "the host must have what is masked");
        b.Spec.Linux!.MaskedPaths = new() { "/proc/cmdline", "/proc/fs" };
        b.Spec.Linux.ReadonlyPaths = new() { "/proc/sys" };
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("cmdline=0", r.Stdout);
        Assert.Contains("fs=0", r.Stdout);
        Assert.Contains("sysrc=1", r.Stdout);
    }

    [Fact]
    public void User_namespace_mapping_is_shown_by_id_and_uid_map()
    {
        using var b = new BusyboxBundle().Script("id; cat /proc/self/uid_map; cat /proc/self/gid_map; stat -c %u /bin/busybox");
        b.Spec.Linux!.Namespaces!.Add(new LinuxNamespace { Type = "user" });
        b.Spec.Linux.UidMappings = new() { new IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
        b.Spec.Linux.GidMappings = new() { new IdMapping { ContainerId = 0, HostId = 100000, Size = 65536 } };
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("uid=0(root) gid=0(root)", r.Stdout);
        Assert.Matches(@"\s+0\s+100000\s+65536", r.Stdout.Split('\n')[1]);
        // The rootfs belongs to host root, which is unmapped inside: the overflow id.
        Assert.Equal("65534", r.Stdout.Split('\n')[3].Trim());
    }

    [Fact]
    public void User_and_additional_groups_and_cwd_and_env_are_applied()
    {
        using var b = new BusyboxBundle().Script("id; pwd; echo $GREETING; echo home=$HOME");
        b.Spec.Process!.User = new User { Uid = 1000, Gid = 1000, AdditionalGids = new() { 2000, 3000 } };
        b.Spec.Process.Cwd = "/tmp/work";
        b.Spec.Process.Env!.Add("GREETING=ahoy");
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("uid=1000 gid=1000 groups=2000,3000", r.Stdout);
        Assert.Contains("/tmp/work\n", r.Stdout);
        Assert.Contains("ahoy\n", r.Stdout);
        Assert.Contains("home=/", r.Stdout);
    }

    [Fact]
    public void Rlimits_and_no_new_privileges_are_applied()
    {
        using var b = new BusyboxBundle().Script("grep -E 'Max open files|Max processes' /proc/self/limits; grep NoNewPrivs /proc/self/status");
        b.Spec.Process!.Rlimits = new() { new Rlimit { Type = "RLIMIT_NOFILE", Soft = 321, Hard = 654 }, new Rlimit { Type = "RLIMIT_NPROC", Soft = 77, Hard = 88 } };
        b.Spec.Process.NoNewPrivileges = true;
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches(@"Max open files\s+321\s+654", r.Stdout);
        Assert.Matches(@"Max processes\s+77\s+88", r.Stdout);
        Assert.Contains("NoNewPrivs:\t1", r.Stdout);
    }

    [Fact]
    public void Hooks_get_the_state_on_stdin_and_their_output_is_kept()
    {
        using var b = new BusyboxBundle().Script("true");
        using var dir = new TempDir();
        string log = Path.Combine(dir.Path, "hooks.log");
        // Each hook appends "<phase> <the state it read, on one line>".
        Hook H(string phase) => new() { Path = "/bin/sh", Args = new() { "sh", "-c", $"printf '%s ' {phase} >> {log}; tr -d '\\n' >> {log}; echo >> {log}" } };
        b.Spec.Hooks = new Hooks
        {
            CreateRuntime = new() { H("createRuntime") },
            Poststart = new() { H("poststart") },
            Poststop = new() { H("poststop") },
        };
        string id = _rt.NewId();
        var r = _rt.RunBundle(b, id);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = File.ReadAllLines(log);
        Assert.Equal(new[] { "createRuntime", "poststart", "poststop" }, lines.Select(l => l.Split(' ')[0]));
        foreach (var line in lines)
        {
            var state = System.Text.Json.JsonDocument.Parse(line[(line.IndexOf(' ') + 1)..]).RootElement;
            Assert.Equal(id, state.GetProperty("id").GetString());
            Assert.Equal(b.Dir, state.GetProperty("bundle").GetString());
            if (!line.StartsWith("poststop")) Assert.True(state.GetProperty("pid").GetInt32() > 0, line);
        }
        Assert.Equal("stopped", System.Text.Json.JsonDocument.Parse(lines[2][9..]).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public void Sysctl_and_oom_score_adj_and_readonly_root()
    {
        using var b = new BusyboxBundle().Script("cat /proc/sys/net/ipv4/ip_forward; cat /proc/self/oom_score_adj; touch /x 2>/dev/null; echo touch=$?");
        b.Spec.Linux!.Sysctl = new() { ["net.ipv4.ip_forward"] = "1" };
        b.Spec.Process!.OomScoreAdj = 123;
        b.Spec.Root!.Readonly = true;
        var r = _rt.RunBundle(b);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(new[] { "1", "123", "touch=1" }, r.Stdout.Trim().Split('\n'));
    }
}

internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("berth-test-").FullName;
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}
