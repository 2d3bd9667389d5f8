using Berth.Engine.Api;
using Berth.Oci.Defaults;
using Berth.Oci.Runtime;
using Mount = Berth.Oci.Runtime.Mount;

namespace Berth.Engine.Containers;

/// <summary>
/// The OCI config berthd writes for a container: runc's base spec with Docker's defaults
/// (capabilities, masked and read-only paths, seccomp profile, /dev/shm, the /etc/hosts,
/// /etc/hostname and /etc/resolv.conf bind mounts) and the run flags of the HostConfig.
/// </summary>
public static class SpecBuilder
{
    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Where docker's --init puts its init binary inside the container.</summary>
    public const string InitTarget = "/sbin/docker-init";

    /// <param name="runtimeBringsUpLoopback">The runtime is berth-runtime, which brings `lo` up itself when
    /// the spec asks with an annotation; other runtimes get a createRuntime hook (a process: ~3 ms).</param>
    /// <summary>berth-runtime's annotation for it (Berth.Runtime.Init.ContainerInit.LoopbackAnnotation).</summary>
    public const string RuntimeLoopbackAnnotation = "run.berth.loopback";

    public static Spec Build(ContainerRecord c, string rootfs, string cgroupParent, string dataRoot, string? initPath = null, bool runtimeBringsUpLoopback = false, string? netnsPath = null)
    {
        var spec = RuncDefaults.Spec(false);
        var hc = c.HostConfig;
        bool privileged = hc.Privileged;
        var (uid, gid, groups) = ResolveUser(rootfs, c.Config.User);
        if (hc.GroupAdd is { } ga) foreach (var g in ga) if (uint.TryParse(g, out var n)) groups.Add(n);

        var caps = Capabilities(hc);
        bool init = hc.Init == true && !string.IsNullOrEmpty(initPath);
        List<string> args = init ? [InitTarget, "--", c.Path, .. c.Args] : [c.Path, .. c.Args];
        spec.Process = new Process
        {
            Terminal = c.Config.Tty,
            User = new User { Uid = uid, Gid = gid, AdditionalGids = groups.Count > 0 ? groups : null },
            Args = args,
            Env = c.Config.Env ?? [DefaultPath],
            Cwd = string.IsNullOrEmpty(c.Config.WorkingDir) ? "/" : c.Config.WorkingDir,
            Capabilities = new Berth.Oci.Runtime.Capabilities { Bounding = caps, Effective = caps, Permitted = caps },
            NoNewPrivileges = NoNewPrivileges(hc),
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
            if (m.Destination == "/sys" && privileged) m.Options = ["nosuid", "noexec", "nodev", "rw"];
            if (m.Destination == "/sys/fs/cgroup") m.Options = ["nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"];
        }
        void Bind(string src, string dst, bool ro, string propagation = "rprivate", bool recursive = true) =>
            mounts.Add(new Mount { Destination = dst, Source = src, Type = "bind", Options = [recursive ? "rbind" : "bind", propagation, ro ? "ro" : "rw"] });
        if (File.Exists(c.ResolvConfPath)) Bind(c.ResolvConfPath, "/etc/resolv.conf", false);
        if (File.Exists(c.HostnamePath)) Bind(c.HostnamePath, "/etc/hostname", false);
        if (File.Exists(c.HostsPath)) Bind(c.HostsPath, "/etc/hosts", false);
        if (init) Bind(initPath!, InitTarget, true);
        // docker's copy-up: at a container's first start, a volume that is still empty gets what the
        // image has at its mount point (not for volumes-from, whose volumes are the other container's).
        bool firstStart = c.State.StartedAt == ContainerStateDto.ZeroTime;
        void FillIfEmpty(string volumeData, string dst)
        {
            if (firstStart && Directory.Exists(volumeData) && !Directory.EnumerateFileSystemEntries(volumeData).Any()) CopyUp(rootfs, dst, volumeData);
        }
        foreach (var b in hc.Binds ?? [])
        {
            var (src, dst, ro) = ParseBind(b, dataRoot);
            var parts = b.Split(':');
            if (!parts[0].StartsWith('/') && !(parts.Length == 3 && parts[2].Split(',').Contains("nocopy"))) FillIfEmpty(src, dst);
            Bind(src, dst, ro);
        }
        foreach (var b in c.VolumesFromBinds ?? [])
        {
            var (src, dst, ro) = ParseBind(b, dataRoot);
            Bind(src, dst, ro);
        }
        foreach (var m in hc.Mounts ?? [])
        {
            switch (m.Type)
            {
                case "bind":
                    // --mount type=bind never creates its source (validated at create; it may have gone since).
                    if (!Path.Exists(m.Source)) throw EngineException.BadRequest($"invalid mount config for type \"bind\": bind source path does not exist: {m.Source}");
                    Bind(m.Source, m.Target, m.ReadOnly, m.BindOptions?.Propagation is { Length: > 0 } p ? p : "rprivate", m.BindOptions?.NonRecursive != true);
                    break;
                case "volume":
                    string name = m.Source != "" ? m.Source : ContainerVolumeName(c.Id, m.Target);
                    if (m.Source == "") new Berth.Engine.Volumes.VolumeStore(dataRoot).EnsureAnonymous(name);
                    var (vsrc, _, _) = ParseBind($"{name}:{m.Target}", dataRoot);
                    if (!NoCopy(m)) FillIfEmpty(vsrc, m.Target);
                    Bind(vsrc, m.Target, m.ReadOnly);
                    break;
                case "tmpfs":
                    var to = new List<string> { "nosuid", "nodev", "noexec" };
                    if (m.TmpfsOptions is { SizeBytes: > 0 } ts) to.Add($"size={ts.SizeBytes}");
                    if (m.TmpfsOptions is { Mode: > 0 } tm) to.Add("mode=" + Convert.ToString(tm.Mode, 8));
                    if (m.ReadOnly) to.Add("ro");
                    mounts.Add(new Mount { Destination = m.Target, Source = "tmpfs", Type = "tmpfs", Options = to });
                    break;
            }
        }
        foreach (var (dst, opts) in hc.Tmpfs ?? new())
            mounts.Add(new Mount { Destination = dst, Source = "tmpfs", Type = "tmpfs", Options = TmpfsOptions(opts) });
        // The image's VOLUMEs and `-v /path`: an anonymous volume each, filled from the image the first time.
        foreach (var dst in AnonymousVolumeTargets(c))
        {
            string data = new Berth.Engine.Volumes.VolumeStore(dataRoot).EnsureAnonymous(ContainerVolumeName(c.Id, dst)).Mountpoint;
            FillIfEmpty(data, dst);
            Bind(data, dst, false);
        }

        var linux = spec.Linux!;
        var ns = new List<LinuxNamespace> { new() { Type = "mount" } };
        // A user network's namespace is made and wired by berthd before the container joins it by path.
        if (hc.NetworkMode != "host") ns.Add(new() { Type = "network", Path = netnsPath });
        if (hc.PidMode != "host") ns.Add(new() { Type = "pid" });
        if (hc.IpcMode != "host") ns.Add(new() { Type = "ipc" });
        if (hc.UTSMode != "host") ns.Add(new() { Type = "uts" });
        linux.Namespaces = ns;
        // A new network namespace has `lo` down; docker brings it up (for none and bridge alike).
        if (netnsPath is not null) { } // its lo is up already
        else if (hc.NetworkMode != "host" && runtimeBringsUpLoopback)
            (spec.Annotations ??= new())[RuntimeLoopbackAnnotation] = "up";
        else if (hc.NetworkMode != "host" && !string.IsNullOrEmpty(initPath))
            (spec.Hooks ??= new Hooks()).CreateRuntime = [new Hook { Path = initPath, Args = ["berth-init", "loopback-hook"] }];
        string parent = string.IsNullOrEmpty(hc.CgroupParent) ? cgroupParent : hc.CgroupParent;
        linux.CgroupsPath = $"{(parent.StartsWith('/') ? parent : "/" + parent).TrimEnd('/')}/{c.Id}";
        if (privileged)
        {
            linux.MaskedPaths = null;
            linux.ReadonlyPaths = null;
            linux.Devices = HostDevices();
            linux.Resources = new LinuxResources { Devices = [new LinuxDeviceCgroup { Allow = true, Access = "rwm" }] };
        }
        else
        {
            linux.MaskedPaths = hc.MaskedPaths ?? DockerDefaults.MaskedPaths();
            linux.ReadonlyPaths = hc.ReadonlyPaths ?? DockerDefaults.ReadonlyPaths();
            linux.Seccomp = SeccompOf(hc, caps);
        }
        var res = linux.Resources ??= new LinuxResources();
        if (!privileged)
        {
            foreach (var m in hc.Devices ?? [])
                foreach (var (node, rule) in DeviceMappings.Expand(m))
                {
                    (linux.Devices ??= new()).Add(node);
                    (res.Devices ??= new()).Add(rule);
                }
            foreach (var r in hc.DeviceCgroupRules ?? []) (res.Devices ??= new()).Add(DeviceMappings.ParseRule(r));
        }
        res.Memory = MemoryOf(hc.Memory, hc.MemorySwap, hc.MemoryReservation, hc.OomKillDisable);
        res.Cpu = CpuOf(hc.CpuShares, hc.NanoCpus, hc.CpuQuota, hc.CpuPeriod, hc.CpusetCpus, hc.CpusetMems);
        if (hc.PidsLimit is > 0) res.Pids = new LinuxPids { Limit = hc.PidsLimit.Value };
        if (hc.BlkioWeight > 0) res.BlockIo = new LinuxBlockIo { Weight = hc.BlkioWeight };
        if (hc.Sysctls is { Count: > 0 }) linux.Sysctl = new(hc.Sysctls);
        return spec;
    }

    /// <summary>
    /// The paths of Config.Volumes (the image's VOLUMEs merged with the request's) that no bind, mount
    /// or tmpfs covers: each gets an anonymous volume, as in docker.
    /// </summary>
    public static List<string> AnonymousVolumeTargets(ContainerRecord c)
    {
        static string Norm(string p) => "/" + p.Trim('/');
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var b in (c.HostConfig.Binds ?? []).Concat(c.VolumesFromBinds ?? []))
            if (b.Split(':') is { Length: >= 2 } parts) taken.Add(Norm(parts[1]));
        foreach (var m in c.HostConfig.Mounts ?? []) taken.Add(Norm(m.Target));
        foreach (var t in c.HostConfig.Tmpfs?.Keys ?? Enumerable.Empty<string>()) taken.Add(Norm(t));
        return (c.Config.Volumes?.Keys ?? Enumerable.Empty<string>())
            .Where(p => p.StartsWith('/')).Select(Norm).Where(p => p != "/" && !taken.Contains(p))
            .Distinct().Order(StringComparer.Ordinal).ToList();
    }

    // --mount type=volume,...,volume-nocopy: the CLI sends VolumeOptions.NoCopy.
    private static bool NoCopy(Api.MountSpec m) =>
        m.Extra is { } x && x.TryGetValue("VolumeOptions", out var o) && o.ValueKind == System.Text.Json.JsonValueKind.Object
        && o.TryGetProperty("NoCopy", out var n) && n.ValueKind == System.Text.Json.JsonValueKind.True;

    /// <summary>
    /// docker's copy-up: an empty volume starts with what the image has at its path. The path is resolved
    /// inside the container's root (a symlink in the image cannot point the copy elsewhere); nothing
    /// there, or not a directory, leaves the volume empty.
    /// </summary>
    private static void CopyUp(string rootfs, string target, string volumeData)
    {
        using var root = new Berth.Linux.Fs.RootedPath(rootfs);
        int fd = root.TryOpen(target, Berth.Linux.Interop.O.DIRECTORY);
        if (fd < 0) return;
        try { Berth.Images.Snapshots.TreeCopy.Copy(Berth.Linux.Fs.RootedPath.FdPath(fd), volumeData); }
        finally { Berth.Linux.Interop.LibC.close(fd); }
    }

    /// <summary>The name of an anonymous volume (`--mount type=volume,dst=/x` without a source, an image's VOLUME, `-v /x`).</summary>
    public static string ContainerVolumeName(string id, string target) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id + target)));

    /// <summary>Memory limits as docker maps them: swap is memory+swap (-1 unlimited); 0 fields are left alone.</summary>
    public static LinuxMemory? MemoryOf(long memory, long swap, long reservation, bool? oomKillDisable)
    {
        if (memory <= 0 && swap == 0 && reservation <= 0 && oomKillDisable != true) return null;
        var m = new LinuxMemory();
        if (memory > 0) m.Limit = memory;
        if (swap != 0) m.Swap = swap;
        if (reservation > 0) m.Reservation = reservation;
        if (oomKillDisable == true) m.DisableOomKiller = true;
        return m;
    }

    /// <summary>CPU: --cpus becomes a CFS quota over a 100 ms period; shares, quota/period and cpusets as given.</summary>
    public static LinuxCpu? CpuOf(long shares, long nanoCpus, long quota, long period, string cpus, string mems)
    {
        if (shares <= 0 && nanoCpus <= 0 && quota <= 0 && period <= 0 && cpus == "" && mems == "") return null;
        var cpu = new LinuxCpu();
        if (shares > 0) cpu.Shares = (ulong)shares;
        if (nanoCpus > 0) { cpu.Period = 100000; cpu.Quota = nanoCpus * 100000 / 1_000_000_000; }
        else
        {
            if (quota != 0) cpu.Quota = quota;
            if (period > 0) cpu.Period = (ulong)period;
        }
        if (cpus != "") cpu.Cpus = cpus;
        if (mems != "") cpu.Mems = mems;
        return cpu;
    }

    /// <summary>--tmpfs options: docker's defaults (noexec, nosuid, nodev) with the user's options taking precedence.</summary>
    public static List<string> TmpfsOptions(string? opts)
    {
        var user = string.IsNullOrEmpty(opts) ? [] : opts.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        var result = new List<string>();
        foreach (var (def, opposite) in new[] { ("noexec", "exec"), ("nosuid", "suid"), ("nodev", "dev") })
            if (!user.Contains(opposite) && !user.Contains(def)) result.Add(def);
        result.AddRange(user);
        return result;
    }

    public static bool NoNewPrivileges(HostConfig hc)
    {
        bool nnp = false;
        foreach (var o in hc.SecurityOpt ?? [])
        {
            var (k, v) = SplitSecurityOpt(o);
            if (k == "no-new-privileges") nnp = v is null || bool.Parse(v);
        }
        return nnp;
    }

    /// <summary>key=value or key:value (docker accepts both); no-new-privileges may stand alone.</summary>
    public static (string Key, string? Value) SplitSecurityOpt(string o)
    {
        int eq = o.IndexOf('='), colon = o.IndexOf(':');
        int i = eq >= 0 && (colon < 0 || eq < colon) ? eq : colon;
        return i < 0 ? (o, null) : (o[..i], o[(i + 1)..]);
    }

    /// <summary>The seccomp filter: docker's default, none for seccomp=unconfined, or a profile given in the option (the CLI sends the file's JSON).</summary>
    public static LinuxSeccomp? SeccompOf(HostConfig hc, List<string> caps)
    {
        if (hc.Privileged) return null;
        string? profile = null;
        foreach (var o in hc.SecurityOpt ?? [])
        {
            var (k, v) = SplitSecurityOpt(o);
            if (k == "seccomp") profile = v;
        }
        return profile switch
        {
            null or "" or "builtin" => DockerDefaults.Seccomp(caps),
            "unconfined" => null,
            _ => DockerSeccompProfile.Parse(profile, caps),
        };
    }

    /// <summary>
    /// /etc/hosts as docker writes it: for --network host a copy of the host's file, otherwise the
    /// loopback entries; then each --add-host (host-gateway is the host's address), then the
    /// container's own name.
    /// </summary>
    public static string HostsFile(ContainerRecord r, string hostname, string hostGatewayIp)
    {
        var sb = new System.Text.StringBuilder();
        bool hostNet = r.HostConfig.NetworkMode == "host";
        if (hostNet && File.Exists("/etc/hosts"))
        {
            var text = File.ReadAllText("/etc/hosts");
            sb.Append(text);
            if (text.Length > 0 && !text.EndsWith('\n')) sb.Append('\n');
        }
        else sb.Append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        foreach (var e in r.HostConfig.ExtraHosts ?? [])
        {
            var (name, ip) = ParseExtraHost(e);
            if (ip == "host-gateway") ip = HostGateway(hostGatewayIp);
            sb.Append(ip).Append('\t').Append(name).Append('\n');
        }
        // On a user network the name stands for the container's address there, as docker writes it.
        if (!hostNet) sb.Append(r.Endpoints is { Count: > 0 } eps ? eps.Values.First().IPAddress : "127.0.1.1").Append('\t').Append(hostname).Append('\n');
        return sb.ToString();
    }

    /// <summary>name:ip or name=ip (the ip may itself contain colons: IPv6).</summary>
    public static (string Name, string Ip) ParseExtraHost(string e)
    {
        int i = e.IndexOfAny([':', '=']);
        if (i <= 0 || i == e.Length - 1) throw EngineException.BadRequest($"invalid IP address in add-host: \"{e}\"");
        string name = e[..i], ip = e[(i + 1)..].Trim('[', ']');
        if (ip != "host-gateway" && !System.Net.IPAddress.TryParse(ip, out _))
            throw EngineException.BadRequest($"invalid IP address in add-host: \"{ip}\"");
        return (name, ip);
    }

    /// <summary>--host-gateway-ip, else the IPv4 address of the host's default-route interface, else 127.0.0.1.</summary>
    public static string HostGateway(string configured)
    {
        if (configured != "") return configured;
        try
        {
            string? dev = File.ReadLines("/proc/net/route").Skip(1).Select(l => l.Split('\t')).FirstOrDefault(f => f.Length > 2 && f[1] == "00000000")?[0];
            var nic = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == dev);
            var a = nic?.GetIPProperties().UnicastAddresses.FirstOrDefault(u => u.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
            if (a is not null) return a.Address.ToString();
        }
        catch (Exception) { }
        return "127.0.0.1";
    }

    public static string HostnameOf(ContainerRecord c) => string.IsNullOrEmpty(c.Config.Hostname) ? c.Id[..12] : c.Config.Hostname;

    /// <summary>
    /// docker's capability rules: --privileged is every capability; --cap-add ALL is every one but
    /// the dropped; --cap-drop ALL keeps only the added; otherwise the default set minus the dropped
    /// plus the added. "Every capability" is what this daemon holds in its bounding set (as docker).
    /// Unknown names are a 400 naming the field and the name.
    /// </summary>
    public static List<string> Capabilities(HostConfig hc)
    {
        var available = AvailableCaps;
        if (hc.Privileged) return available.ToList();
        var add = Normalize(hc.CapAdd, "CapAdd");
        var drop = Normalize(hc.CapDrop, "CapDrop");
        foreach (var a in add)
            if (a != "ALL" && !available.Contains(a))
                throw EngineException.BadRequest($"invalid CapAdd: capability not supported by your kernel or not available in the current environment: \"{a}\"");
        List<string> caps;
        if (add.Contains("ALL")) caps = available.Where(x => !drop.Contains(x)).ToList();
        else if (drop.Contains("ALL")) caps = add.Distinct().ToList();
        else
        {
            caps = DockerDefaults.Capabilities().Where(x => !drop.Contains(x) && available.Contains(x)).ToList();
            foreach (var a in add) if (!caps.Contains(a)) caps.Add(a);
        }
        return caps;
    }

    private static List<string> Normalize(List<string>? names, string field)
    {
        var result = new List<string>();
        foreach (var raw in names ?? [])
        {
            string n = raw.Trim().ToUpperInvariant();
            if (n == "ALL") { result.Add(n); continue; }
            if (!n.StartsWith("CAP_", StringComparison.Ordinal)) n = "CAP_" + n;
            if (!AllCaps.Contains(n)) throw EngineException.BadRequest($"invalid {field}: unknown capability: \"{n}\"");
            result.Add(n);
        }
        return result;
    }

    /// <summary>The capabilities in this daemon's bounding set (a container can get no other).</summary>
    private static readonly Lazy<string[]> Bounding = new(() =>
    {
        ulong mask = ulong.MaxValue;
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapBnd:", StringComparison.Ordinal));
            if (line is not null) mask = Convert.ToUInt64(line[7..].Trim(), 16);
        }
        catch (IOException) { }
        int last = int.TryParse(File.Exists("/proc/sys/kernel/cap_last_cap") ? File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim() : "", out var l) ? l : AllCaps.Length - 1;
        return AllCaps.Where((_, i) => i <= last && (mask & (1UL << i)) != 0).ToArray();
    });
    private static string[] AvailableCaps => Bounding.Value;

    /// <summary>Every character and block device under the host's /dev, for --privileged (docker skips pts, shm, mqueue and the console).</summary>
    public static unsafe List<LinuxDevice> HostDevices()
    {
        var list = new List<LinuxDevice>();
        var skipDirs = new HashSet<string> { "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/fd", "/dev/.lxc", "/dev/.udev" };
        void Walk(string dir)
        {
            IEnumerable<string> entries;
            try { entries = Directory.EnumerateFileSystemEntries(dir).ToList(); } catch (Exception) { return; }
            foreach (var p in entries)
            {
                Berth.Linux.Interop.Stat st;
                if (Berth.Linux.Interop.LibC.fstatat(-100, p, &st, 0x100) != 0) continue;
                uint fmt = st.Mode & 0xF000;
                if (fmt == 0x4000) { if (!skipDirs.Contains(p)) Walk(p); continue; }
                if (p == "/dev/console") continue;
                if (DeviceMappings.Node(p, st) is { } node) list.Add(node);
            }
        }
        Walk("/dev");
        return list;
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
