using Berth.Engine.Api;
using Berth.Oci.Defaults;
using Berth.Oci.Runtime;

namespace Berth.Engine.Containers;

/// <summary>
/// The OCI config berthd writes for a container: runc's base spec with Docker's defaults
/// (capabilities, masked and read-only paths, seccomp profile, /dev/shm, the /etc/hosts,
/// /etc/hostname and /etc/resolv.conf bind mounts) and the run flags of the HostConfig.
/// </summary>
public static class SpecBuilder
{
    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static Spec Build(ContainerRecord c, string rootfs, string cgroupParent, string dataRoot)
    {
        var spec = RuncDefaults.Spec(false);
        var hc = c.HostConfig;
        bool privileged = hc.Privileged;
        var (uid, gid, groups) = ResolveUser(rootfs, c.Config.User);
        if (hc.GroupAdd is { } ga) foreach (var g in ga) if (uint.TryParse(g, out var n)) groups.Add(n);

        var caps = Capabilities(hc);
        spec.Process = new Process
        {
            Terminal = c.Config.Tty,
            User = new User { Uid = uid, Gid = gid, AdditionalGids = groups.Count > 0 ? groups : null },
            Args = [c.Path, .. c.Args],
            Env = c.Config.Env ?? [DefaultPath],
            Cwd = string.IsNullOrEmpty(c.Config.WorkingDir) ? "/" : c.Config.WorkingDir,
            Capabilities = new Berth.Oci.Runtime.Capabilities { Bounding = caps, Effective = caps, Permitted = caps },
            NoNewPrivileges = hc.SecurityOpt?.Any(s => s is "no-new-privileges" or "no-new-privileges:true" or "no-new-privileges=true") == true,
            OomScoreAdj = hc.OomScoreAdj != 0 ? hc.OomScoreAdj : null,
        };
        if (c.Config.Tty && hc.ConsoleSize is [var h, var w] && h > 0 && w > 0)
            spec.Process.ConsoleSize = new ConsoleSize { Height = (uint)h, Width = (uint)w };
        if (hc.Ulimits is { Count: > 0 })
            spec.Process.Rlimits = hc.Ulimits.Select(u => new Rlimit { Type = "RLIMIT_" + u.Name.ToUpperInvariant(), Soft = (ulong)u.Soft, Hard = (ulong)u.Hard }).ToList();
        else spec.Process.Rlimits = null;

        spec.Root = new Root { Path = rootfs, Readonly = hc.ReadonlyRootfs };
        spec.Hostname = HostnameOf(c);
        if (!string.IsNullOrEmpty(c.Config.Domainname)) spec.Domainname = c.Config.Domainname;

        var mounts = spec.Mounts!;
        long shm = hc.ShmSize > 0 ? hc.ShmSize : 64L * 1024 * 1024;
        foreach (var m in mounts)
        {
            if (m.Destination == "/dev/shm") m.Options = ["nosuid", "noexec", "nodev", "mode=1777", $"size={shm}"];
            if (m.Destination == "/sys" && privileged) m.Options = ["nosuid", "noexec", "nodev"];
            if (m.Destination == "/sys/fs/cgroup") m.Options = ["nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"];
        }
        void Bind(string src, string dst, bool ro) =>
            mounts.Add(new Mount { Destination = dst, Source = src, Type = "bind", Options = ["rbind", "rprivate", ro ? "ro" : "rw"] });
        if (File.Exists(c.ResolvConfPath)) Bind(c.ResolvConfPath, "/etc/resolv.conf", false);
        if (File.Exists(c.HostnamePath)) Bind(c.HostnamePath, "/etc/hostname", false);
        if (File.Exists(c.HostsPath)) Bind(c.HostsPath, "/etc/hosts", false);
        foreach (var b in hc.Binds ?? [])
        {
            var (src, dst, ro) = ParseBind(b, dataRoot);
            Bind(src, dst, ro);
        }
        foreach (var (dst, opts) in hc.Tmpfs ?? new())
        {
            var o = new List<string> { "nosuid", "nodev", "noexec" };
            if (!string.IsNullOrEmpty(opts)) o.AddRange(opts.Split(','));
            mounts.Add(new Mount { Destination = dst, Source = "tmpfs", Type = "tmpfs", Options = o });
        }

        var linux = spec.Linux!;
        var ns = new List<LinuxNamespace> { new() { Type = "mount" } };
        if (hc.NetworkMode != "host") ns.Add(new() { Type = "network" });
        if (hc.PidMode != "host") ns.Add(new() { Type = "pid" });
        if (hc.IpcMode != "host") ns.Add(new() { Type = "ipc" });
        if (hc.UTSMode != "host") ns.Add(new() { Type = "uts" });
        linux.Namespaces = ns;
        string parent = string.IsNullOrEmpty(hc.CgroupParent) ? cgroupParent : hc.CgroupParent;
        linux.CgroupsPath = $"{(parent.StartsWith('/') ? parent : "/" + parent).TrimEnd('/')}/{c.Id}";
        if (privileged)
        {
            linux.MaskedPaths = null;
            linux.ReadonlyPaths = null;
            linux.Resources = new LinuxResources { Devices = [new LinuxDeviceCgroup { Allow = true, Access = "rwm" }] };
        }
        else
        {
            linux.MaskedPaths = hc.MaskedPaths ?? DockerDefaults.MaskedPaths();
            linux.ReadonlyPaths = hc.ReadonlyPaths ?? DockerDefaults.ReadonlyPaths();
            bool unconfined = hc.SecurityOpt?.Any(s => s is "seccomp=unconfined" or "seccomp:unconfined") == true;
            if (!unconfined) linux.Seccomp = DockerDefaults.Seccomp(caps);
        }
        var res = linux.Resources ??= new LinuxResources();
        if (hc.Memory > 0) res.Memory = new LinuxMemory { Limit = hc.Memory, Swap = hc.MemorySwap != 0 ? hc.MemorySwap : hc.Memory * 2 };
        if (hc.CpuShares > 0 || hc.NanoCpus > 0 || hc.CpuQuota > 0 || hc.CpusetCpus != "")
        {
            res.Cpu = new LinuxCpu();
            if (hc.CpuShares > 0) res.Cpu.Shares = (ulong)hc.CpuShares;
            if (hc.NanoCpus > 0) { res.Cpu.Period = 100000; res.Cpu.Quota = hc.NanoCpus * 100000 / 1_000_000_000; }
            else if (hc.CpuQuota > 0) { res.Cpu.Quota = hc.CpuQuota; res.Cpu.Period = hc.CpuPeriod > 0 ? (ulong)hc.CpuPeriod : 100000; }
            if (hc.CpusetCpus != "") res.Cpu.Cpus = hc.CpusetCpus;
        }
        if (hc.PidsLimit is > 0) res.Pids = new LinuxPids { Limit = hc.PidsLimit.Value };
        if (hc.Sysctls is { Count: > 0 }) linux.Sysctl = new(hc.Sysctls);
        return spec;
    }

    public static string HostnameOf(ContainerRecord c) => string.IsNullOrEmpty(c.Config.Hostname) ? c.Id[..12] : c.Config.Hostname;

    public static List<string> Capabilities(HostConfig hc)
    {
        if (hc.Privileged) return AllCaps.ToList();
        var caps = new List<string>(DockerDefaults.Capabilities());
        static string Norm(string c) => c.StartsWith("CAP_", StringComparison.OrdinalIgnoreCase) ? c.ToUpperInvariant() : "CAP_" + c.ToUpperInvariant();
        foreach (var d in hc.CapDrop ?? [])
        {
            if (d.Equals("ALL", StringComparison.OrdinalIgnoreCase)) caps.Clear(); else caps.Remove(Norm(d));
        }
        foreach (var a in hc.CapAdd ?? [])
        {
            if (a.Equals("ALL", StringComparison.OrdinalIgnoreCase)) { caps = AllCaps.ToList(); continue; }
            var n = Norm(a);
            if (!AllCaps.Contains(n)) throw EngineException.BadRequest($"invalid CapAdd: unknown capability: \"{n}\"");
            if (!caps.Contains(n)) caps.Add(n);
        }
        return caps;
    }

    private static readonly string[] AllCaps =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
        "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
        "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    /// <summary>host-path:container-path[:ro|rw] or volume-name:container-path[:opts] (named volumes live under DATA_ROOT/volumes).</summary>
    public static (string Src, string Dst, bool Ro) ParseBind(string bind, string dataRoot)
    {
        var parts = bind.Split(':');
        if (parts.Length < 2 || parts.Length > 3 || parts[1] == "" || !parts[1].StartsWith('/'))
            throw EngineException.BadRequest($"invalid volume specification: '{bind}'");
        bool ro = parts.Length == 3 && parts[2].Split(',').Contains("ro");
        string src = parts[0];
        if (!src.StartsWith('/'))
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(src, "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"))
                throw EngineException.BadRequest($"create {src}: \"{src}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
            src = Path.Combine(dataRoot, "volumes", src, "_data");
            Directory.CreateDirectory(src);
        }
        else if (!Path.Exists(src)) Directory.CreateDirectory(src);
        return (src, parts[1], ro);
    }

    /// <summary>user, uid, user:group or uid:gid, looked up in the image's /etc/passwd and /etc/group.</summary>
    public static (uint Uid, uint Gid, List<uint> Groups) ResolveUser(string rootfs, string? user)
    {
        var groups = new List<uint>();
        if (string.IsNullOrEmpty(user)) return (0, 0, groups);
        var parts = user.Split(':', 2);
        uint uid, gid = 0;
        var passwd = ReadDb(rootfs, "etc/passwd");
        if (uint.TryParse(parts[0], out uid))
        {
            var e = passwd.FirstOrDefault(p => p.Length > 3 && p[2] == parts[0]);
            if (e is not null) uint.TryParse(e[3], out gid);
        }
        else
        {
            var e = passwd.FirstOrDefault(p => p.Length > 3 && p[0] == parts[0])
                ?? throw EngineException.BadRequest($"unable to find user {parts[0]}: no matching entries in passwd file");
            uid = uint.Parse(e[2]);
            gid = uint.Parse(e[3]);
        }
        if (parts.Length == 2)
        {
            if (!uint.TryParse(parts[1], out gid))
            {
                var g = ReadDb(rootfs, "etc/group").FirstOrDefault(p => p.Length > 2 && p[0] == parts[1])
                    ?? throw EngineException.BadRequest($"unable to find group {parts[1]}: no matching entries in group file");
                gid = uint.Parse(g[2]);
            }
        }
        return (uid, gid, groups);
    }

    private static List<string[]> ReadDb(string rootfs, string rel)
    {
        // Read only a regular file that is not a symlink, so nothing outside the root is read.
        string p = Path.Combine(rootfs, rel);
        try
        {
            var fi = new FileInfo(p);
            if (!fi.Exists || fi.LinkTarget is not null || new FileInfo(Path.Combine(rootfs, "etc")).LinkTarget is not null) return [];
            return File.ReadAllLines(p).Select(l => l.Split(':')).ToList();
        }
        catch (IOException) { return []; }
    }
}
