using Berth.Cli.Client;

namespace Berth.Cli.Commands;

/// <summary>
/// The flags of <c>run</c> and <c>create</c>, and how they become a create body: the same fields
/// docker's CLI fills (Config, HostConfig, NetworkingConfig), so berthd sees what dockerd would.
/// </summary>
public sealed class RunFlags
{
    public static readonly string[] Flags =
    [
        "detach|d", "interactive|i", "tty|t", "rm", "read-only", "privileged", "init", "no-healthcheck", "publish-all|P",
        "oom-kill-disable", "quiet|q", "sig-proxy", "disable-content-trust", "help",
    ];

    public static readonly string[] Options =
    [
        "name", "env|e", "env-file", "workdir|w", "user|u", "hostname|h", "domainname", "label|l", "label-file", "entrypoint",
        "memory|m", "memory-swap", "memory-reservation", "memory-swappiness", "cpus", "cpu-shares|c", "cpuset-cpus", "cpuset-mems",
        "cpu-period", "cpu-quota", "pids-limit", "blkio-weight", "tmpfs", "cap-add", "cap-drop", "security-opt", "ulimit", "pid",
        "ipc", "uts", "userns", "cgroupns", "cgroup-parent", "network|net", "network-alias|net-alias", "add-host", "dns", "dns-search",
        "dns-option|dns-opt", "restart", "health-cmd", "health-interval", "health-timeout", "health-retries", "health-start-period",
        "health-start-interval", "volume|v", "mount", "publish|p", "expose", "stop-signal", "stop-timeout", "shm-size", "sysctl",
        "group-add", "oom-score-adj", "log-driver", "log-opt", "runtime", "platform", "pull", "cidfile", "detach-keys", "attach|a",
        "mac-address", "ip", "volumes-from", "device", "device-cgroup-rule",
    ];

    public required Args A { get; init; }
    public string Image => A.Positional[0];
    public List<string> Command => A.Positional.Skip(1).ToList();

    public static RunFlags Parse(string command, List<string> argv)
    {
        var a = new Args(command, argv, Flags, Options, interspersed: false);
        a.Require(1, int.MaxValue, "[OPTIONS] IMAGE [COMMAND] [ARG...]");
        return new RunFlags { A = a };
    }

    public bool Detach => A.Flag("detach");
    public bool Interactive => A.Flag("interactive");
    public bool Tty => A.Flag("tty");
    public bool AutoRemove => A.Flag("rm");
    public string? Name => A.Value("name");

    public CreateBody ToBody(bool forRun)
    {
        var a = A;
        var b = new CreateBody { Image = Image };
        var hc = b.HostConfig;
        var cmd = Command;
        b.Cmd = cmd.Count > 0 ? cmd : null;
        if (a.Value("entrypoint") is { } ep) b.Entrypoint = [ep];
        b.Tty = Tty;
        b.OpenStdin = Interactive;
        var attach = a.Values("attach");
        if (forRun && !Detach)
        {
            b.AttachStdin = Interactive || attach.Contains("stdin", StringComparer.OrdinalIgnoreCase);
            b.AttachStdout = attach.Count == 0 || attach.Contains("stdout", StringComparer.OrdinalIgnoreCase);
            b.AttachStderr = attach.Count == 0 || attach.Contains("stderr", StringComparer.OrdinalIgnoreCase);
            b.StdinOnce = b.AttachStdin;
        }
        else if (!forRun)
        {
            b.AttachStdin = Interactive;
            b.AttachStdout = b.AttachStderr = true;
            b.StdinOnce = Interactive;
        }

        // Environment: --env-file first, then -e (later wins in the daemon).
        var env = new List<string>();
        foreach (var f in a.Values("env-file")) env.AddRange(ValueParsers.KeyValueFile(f, fromEnvironment: true));
        foreach (var e in a.Values("env"))
        {
            if (e.Contains('=')) env.Add(e);
            else if (Environment.GetEnvironmentVariable(e) is { } v) env.Add($"{e}={v}");
        }
        b.Env = env.Count > 0 ? env : null;
        foreach (var f in a.Values("label-file"))
            foreach (var l in ValueParsers.KeyValueFile(f, fromEnvironment: false)) Label(b, l);
        foreach (var l in a.Values("label")) Label(b, l);

        b.WorkingDir = a.Value("workdir") ?? "";
        if (b.WorkingDir != "" && !b.WorkingDir.StartsWith('/')) throw new UsageException($"the working directory '{b.WorkingDir}' is invalid, it needs to be an absolute path");
        b.User = a.Value("user") ?? "";
        b.Hostname = a.Value("hostname") ?? "";
        b.Domainname = a.Value("domainname") ?? "";
        b.StopSignal = a.Value("stop-signal");
        if (a.Value("stop-timeout") is { } st) b.StopTimeout = ValueParsers.Int(st, "--stop-timeout");
        if (a.Value("mac-address") is not null) { /* accepted, like docker without a MAC-capable network */ }

        // Resources.
        if (a.Value("memory") is { } mem) hc.Memory = ValueParsers.Bytes(mem, "-m, --memory");
        if (a.Value("memory-swap") is { } swap) hc.MemorySwap = swap == "-1" ? -1 : ValueParsers.Bytes(swap, "--memory-swap");
        if (a.Value("memory-reservation") is { } mr) hc.MemoryReservation = ValueParsers.Bytes(mr, "--memory-reservation");
        if (a.Value("memory-swappiness") is { } ms) hc.MemorySwappiness = ValueParsers.Long(ms, "--memory-swappiness");
        if (hc.Memory > 0 && hc.MemorySwap > 0 && hc.MemorySwap < hc.Memory)
            throw new UsageException("Minimum memoryswap limit should be larger than memory limit, see usage");
        if (a.Value("cpus") is { } cpus) hc.NanoCpus = ValueParsers.NanoCpus(cpus);
        if (a.Value("cpu-shares") is { } shares) hc.CpuShares = ValueParsers.Long(shares, "-c, --cpu-shares");
        if (a.Value("cpu-period") is { } cp) hc.CpuPeriod = ValueParsers.Long(cp, "--cpu-period");
        if (a.Value("cpu-quota") is { } cq) hc.CpuQuota = ValueParsers.Long(cq, "--cpu-quota");
        hc.CpusetCpus = a.Value("cpuset-cpus") ?? "";
        hc.CpusetMems = a.Value("cpuset-mems") ?? "";
        if (a.Value("pids-limit") is { } pl) hc.PidsLimit = ValueParsers.Long(pl, "--pids-limit");
        if (a.Value("blkio-weight") is { } bw)
        {
            int w = ValueParsers.Int(bw, "--blkio-weight");
            if (w != 0 && (w < 10 || w > 1000)) throw new UsageException($"invalid argument \"{bw}\" for \"--blkio-weight\" flag: range of blkio weight is from 10 to 1000");
            hc.BlkioWeight = w;
        }
        if (a.Value("shm-size") is { } shm) hc.ShmSize = ValueParsers.Bytes(shm, "--shm-size");
        if (a.Value("oom-score-adj") is { } oom) hc.OomScoreAdj = ValueParsers.Int(oom, "--oom-score-adj");
        hc.OomKillDisable = a.Flag("oom-kill-disable");
        foreach (var u in a.Values("ulimit")) hc.Ulimits.Add(ValueParsers.Ulimit(u));
        foreach (var dev in a.Values("device")) hc.Devices.Add(ValueParsers.Device(dev));
        hc.DeviceCgroupRules.AddRange(a.Values("device-cgroup-rule"));

        // Security and namespaces.
        hc.Privileged = a.Flag("privileged");
        hc.ReadonlyRootfs = a.Flag("read-only");
        if (a.Flag("init")) hc.Init = true;
        hc.CapAdd = NullIfEmpty(a.Values("cap-add"));
        hc.CapDrop = NullIfEmpty(a.Values("cap-drop"));
        hc.SecurityOpt = NullIfEmpty(a.Values("security-opt").Select(SecurityOpt).ToList());
        hc.PidMode = a.Value("pid") ?? "";
        hc.IpcMode = a.Value("ipc") ?? "";
        hc.UTSMode = a.Value("uts") ?? "";
        hc.UsernsMode = a.Value("userns") ?? "";
        hc.CgroupnsMode = a.Value("cgroupns") ?? "";
        hc.CgroupParent = a.Value("cgroup-parent") ?? "";
        hc.Runtime = a.Value("runtime") ?? "";
        hc.GroupAdd = NullIfEmpty(a.Values("group-add"));
        foreach (var s in a.Values("sysctl"))
        {
            int eq = s.IndexOf('=');
            if (eq <= 0) throw new UsageException($"invalid argument \"{s}\" for \"--sysctl\" flag: sysctl '{s}' is not allowed");
            (hc.Sysctls ??= new())[s[..eq]] = s[(eq + 1)..];
        }
        foreach (var t in a.Values("tmpfs"))
        {
            int colon = t.IndexOf(':');
            (hc.Tmpfs ??= new())[colon < 0 ? t : t[..colon]] = colon < 0 ? "" : t[(colon + 1)..];
        }

        // Network.
        string network = a.Value("network") ?? "default";
        hc.NetworkMode = network;
        var aliases = a.Values("network-alias");
        b.NetworkingConfig.EndpointsConfig[network] = new EndpointBody { Aliases = NullIfEmpty(aliases.ToList()) };
        hc.ExtraHosts = NullIfEmpty(a.Values("add-host").Select(h =>
        {
            int sep = h.IndexOfAny([':', '=']);
            if (sep <= 0) throw new UsageException($"invalid argument \"{h}\" for \"--add-host\" flag: bad format for add-host: \"{h}\"");
            return h[..sep] + ":" + h[(sep + 1)..];
        }).ToList());
        hc.Dns = a.Values("dns").ToList();
        hc.DnsSearch = a.Values("dns-search").ToList();
        hc.DnsOptions = a.Values("dns-option").ToList();
        hc.PublishAllPorts = a.Flag("publish-all");
        foreach (var e in a.Values("expose")) (b.ExposedPorts ??= new())[PortKey(e)] = new EmptyObject();
        foreach (var p in a.Values("publish")) Publish(b, p);

        // Restart and health.
        if (a.Value("restart") is { } restart) hc.RestartPolicy = Restart(restart);
        if (hc.RestartPolicy.Name is not ("no" or "") && AutoRemove) throw new UsageException("Conflicting options: --restart and --rm");
        if (a.Flag("no-healthcheck"))
        {
            if (a.Has("health-cmd")) throw new UsageException("--no-healthcheck conflicts with --health-* options");
            b.Healthcheck = new HealthConfig { Test = ["NONE"] };
        }
        else if (a.Has("health-cmd") || a.Has("health-interval") || a.Has("health-timeout") || a.Has("health-retries") || a.Has("health-start-period") || a.Has("health-start-interval"))
        {
            b.Healthcheck = new HealthConfig
            {
                Test = a.Value("health-cmd") is { } hcmd ? ["CMD-SHELL", hcmd] : null,
                Interval = a.Value("health-interval") is { } hi ? ValueParsers.Duration(hi, "--health-interval") : 0,
                Timeout = a.Value("health-timeout") is { } ht ? ValueParsers.Duration(ht, "--health-timeout") : 0,
                StartPeriod = a.Value("health-start-period") is { } hs ? ValueParsers.Duration(hs, "--health-start-period") : 0,
                StartInterval = a.Value("health-start-interval") is { } hsi ? ValueParsers.Duration(hsi, "--health-start-interval") : 0,
                Retries = a.Value("health-retries") is { } hr ? ValueParsers.Int(hr, "--health-retries") : 0,
            };
        }

        // Storage.
        var binds = new List<string>();
        foreach (var v in a.Values("volume"))
        {
            var parts = v.Split(':');
            if (parts.Length == 1)
            {
                if (!v.StartsWith('/')) throw new UsageException($"invalid argument \"{v}\" for \"-v, --volume\" flag: invalid mount config: the container path must be absolute");
                b.Volumes[v] = new EmptyObject();
            }
            else if (parts.Length > 3 || parts[1].Length == 0) throw new UsageException($"invalid argument \"{v}\" for \"-v, --volume\" flag: invalid spec: {v}");
            else binds.Add(v);
        }
        foreach (var m in a.Values("mount")) if (MountToBind(m, hc) is { Length: > 0 } bind) binds.Add(bind);
        hc.Binds = NullIfEmpty(binds);
        hc.VolumesFrom = NullIfEmpty(a.Values("volumes-from"));

        // Logging.
        if (a.Value("log-driver") is { } ld) hc.LogConfig.Type = ld;
        foreach (var lo in a.Values("log-opt"))
        {
            int eq = lo.IndexOf('=');
            if (eq <= 0) throw new UsageException($"invalid argument \"{lo}\" for \"--log-opt\" flag: invalid key value pair format: {lo}");
            hc.LogConfig.Config[lo[..eq]] = lo[(eq + 1)..];
        }
        hc.AutoRemove = AutoRemove;
        return b;
    }

    private static void Label(CreateBody b, string l)
    {
        int eq = l.IndexOf('=');
        b.Labels[eq < 0 ? l : l[..eq]] = eq < 0 ? "" : l[(eq + 1)..];
    }

    private static List<string>? NullIfEmpty(IReadOnlyList<string> l) => l.Count == 0 ? null : l.ToList();

    private static string SecurityOpt(string s)
    {
        // docker reads the file of seccomp=PATH and sends its JSON; "unconfined" and builtin names go as given.
        if (s.StartsWith("seccomp=", StringComparison.Ordinal) && s[8..] is var path && path is not ("unconfined" or "builtin") && File.Exists(path))
            return "seccomp=" + File.ReadAllText(path);
        if (s.StartsWith("seccomp:", StringComparison.Ordinal)) return SecurityOpt("seccomp=" + s[8..]);
        return s;
    }

    private static RestartPolicyBody Restart(string s)
    {
        var parts = s.Split(':');
        string name = parts[0];
        if (name is not ("no" or "always" or "unless-stopped" or "on-failure"))
            throw new UsageException($"invalid restart policy '{s}'");
        int count = 0;
        if (parts.Length > 1)
        {
            if (name != "on-failure") throw new UsageException($"invalid restart policy format: maximum retry count can only be used with 'on-failure'");
            if (!int.TryParse(parts[1], out count)) throw new UsageException($"invalid restart policy format: maximum retry count must be an integer");
        }
        return new RestartPolicyBody { Name = name, MaximumRetryCount = count };
    }

    private static string PortKey(string p)
    {
        string proto = "tcp";
        int slash = p.IndexOf('/');
        if (slash >= 0) { proto = p[(slash + 1)..]; p = p[..slash]; }
        if (!int.TryParse(p, out var port) || port is < 1 or > 65535)
            throw new UsageException($"invalid containerPort: {p}");
        return $"{port}/{proto}";
    }

    /// <summary>-p [ip:][hostPort:]containerPort[/proto].</summary>
    private static void Publish(CreateBody b, string spec)
    {
        string proto = "";
        string s = spec;
        int slash = s.LastIndexOf('/');
        if (slash >= 0) { proto = s[slash..]; s = s[..slash]; }
        var parts = s.Split(':');
        string ip = "", host = "", container;
        switch (parts.Length)
        {
            case 1: container = parts[0]; break;
            case 2: host = parts[0]; container = parts[1]; break;
            case 3: ip = parts[0]; host = parts[1]; container = parts[2]; break;
            default: throw new UsageException($"invalid argument \"{spec}\" for \"-p, --publish\" flag: invalid proto: {spec}");
        }
        if (host != "" && !int.TryParse(host, out var hp) | hp is < 0 or > 65535)
            throw new UsageException($"invalid argument \"{spec}\" for \"-p, --publish\" flag: invalid hostPort: {host}");
        string key = PortKey(container + proto);
        (b.ExposedPorts ??= new())[key] = new EmptyObject();
        if (!b.HostConfig.PortBindings.TryGetValue(key, out var list)) b.HostConfig.PortBindings[key] = list = [];
        list.Add(new PortBindingBody { HostIp = ip, HostPort = host });
    }

    /// <summary>--mount type=bind|volume|tmpfs,source=,target=[,readonly] as the Binds/Tmpfs docker would also accept.</summary>
    private static string MountToBind(string spec, HostConfigBody hc)
    {
        var kv = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in spec.Split(','))
        {
            int eq = part.IndexOf('=');
            kv[eq < 0 ? part : part[..eq]] = eq < 0 ? "true" : part[(eq + 1)..];
        }
        string type = kv.GetValueOrDefault("type", "volume");
        string? target = kv.GetValueOrDefault("target") ?? kv.GetValueOrDefault("dst") ?? kv.GetValueOrDefault("destination");
        string? source = kv.GetValueOrDefault("source") ?? kv.GetValueOrDefault("src");
        if (target is null) throw new UsageException($"invalid argument \"{spec}\" for \"--mount\" flag: target is required");
        bool ro = kv.TryGetValue("readonly", out var r) && r is "true" or "1" || kv.TryGetValue("ro", out r) && r is "true" or "1";
        if (type == "tmpfs")
        {
            (hc.Tmpfs ??= new())[target] = kv.TryGetValue("tmpfs-size", out var size) ? "size=" + size : "";
            return "";
        }
        if (source is null) throw new UsageException($"invalid argument \"{spec}\" for \"--mount\" flag: source is required");
        return $"{source}:{target}{(ro ? ":ro" : "")}";
    }
}
