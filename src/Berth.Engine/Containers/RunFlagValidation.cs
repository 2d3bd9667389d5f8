using Berth.Engine.Api;

namespace Berth.Engine.Containers;

/// <summary>
/// Create-time checks of the run flags, with docker's messages (daemon/daemon_unix.go's
/// verifyPlatformContainerResources and friends), so a bad flag fails before anything exists.
/// Also docker's adaptations: MemorySwap defaults to twice Memory; a blkio weight the kernel
/// cannot apply is dropped with a warning.
/// </summary>
public static class RunFlagValidation
{
    public const long MinimumMemory = 6 * 1024 * 1024;
    public const long MinimumDurationNs = 1_000_000; // 1ms

    /// <summary>Checks and adapts a HostConfig; returns docker's warnings.</summary>
    public static List<string> Validate(HostConfig hc, HealthConfig? health)
    {
        var warnings = new List<string>();
        ValidateResources(hc.Memory, hc.MemorySwap, hc.MemoryReservation, hc.NanoCpus, hc.CpuQuota, hc.CpuPeriod, hc.CpusetCpus, hc.BlkioWeight, warnings);
        if (hc.Memory > 0 && hc.MemorySwap == 0) hc.MemorySwap = hc.Memory * 2;
        if (hc.BlkioWeight > 0 && !BlkioWeightSupported)
        {
            warnings.Add("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
            hc.BlkioWeight = 0;
        }
        if (hc.OomKillDisable == true && hc.Memory == 0)
            warnings.Add("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.");
        if (hc.PidsLimit is <= 0) hc.PidsLimit = null; // 0 and -1: unlimited
        if (hc.RestartPolicy is { } rp)
        {
            if (rp.MaximumRetryCount < 0) throw EngineException.BadRequest("invalid restart policy: maximum retry count cannot be negative");
            if (rp.MaximumRetryCount > 0 && rp.Name != "on-failure")
                throw EngineException.BadRequest($"invalid restart policy: maximum retry count can only be used with 'on-failure'");
        }
        var caps = SpecBuilder.Capabilities(hc);
        ValidateSecurityOpts(hc, caps);
        foreach (var u in hc.Ulimits ?? [])
        {
            if (!UlimitNames.Contains(u.Name)) throw EngineException.BadRequest($"invalid ulimit type: {u.Name}");
            if (u.Soft > u.Hard) throw EngineException.BadRequest($"ulimit soft limit must be less than or equal to hard limit: {u.Soft} > {u.Hard}");
        }
        foreach (var (dst, opts) in hc.Tmpfs ?? new())
        {
            if (!dst.StartsWith('/')) throw EngineException.BadRequest($"invalid mount path: '{dst}' mount path must be absolute");
            foreach (var o in (opts ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
                if (o.StartsWith("size=", StringComparison.Ordinal) && !TryTmpfsSize(o[5..]))
                    throw EngineException.BadRequest($"invalid tmpfs option [\"{o}\"]: invalid size: '{o[5..]}'");
        }
        foreach (var m in hc.Mounts ?? []) ValidateMount(m);
        DeviceMappings.Validate(hc);
        IgnoredSettings.Warn(hc, warnings);
        foreach (var e in hc.ExtraHosts ?? []) SpecBuilder.ParseExtraHost(e);
        if (health is not null) ValidateHealth(health);
        return warnings;
    }

    public static void ValidateResources(long memory, long swap, long reservation, long nanoCpus, long quota, long period, string cpuset, ushort blkio, List<string> warnings)
    {
        if (memory < 0) throw EngineException.BadRequest($"invalid memory limit: {memory}: it cannot be negative");
        if (memory > 0 && memory < MinimumMemory) throw EngineException.BadRequest("Minimum memory limit allowed is 6MB");
        if (swap > 0 && memory == 0) throw EngineException.BadRequest("You should always set the Memory limit when using Memoryswap limit, see usage");
        if (memory > 0 && swap > 0 && swap < memory) throw EngineException.BadRequest("Minimum memoryswap limit should be larger than memory limit, see usage");
        if (reservation > 0 && reservation < MinimumMemory) throw EngineException.BadRequest("Minimum memory reservation allowed is 6MB");
        if (memory > 0 && reservation > 0 && memory < reservation)
            throw EngineException.BadRequest("Minimum memory limit can not be less than memory reservation limit, see usage");
        int n = Environment.ProcessorCount;
        if (nanoCpus > 0 && period > 0) throw EngineException.BadRequest("Conflicting options: Nano CPUs and CPU Period cannot both be set");
        if (nanoCpus > 0 && quota > 0) throw EngineException.BadRequest("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
        if (nanoCpus < 0 || nanoCpus > n * 1_000_000_000L)
            throw EngineException.BadRequest($"Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available");
        if (nanoCpus > 0 && nanoCpus < 10_000_000) throw EngineException.BadRequest($"Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available");
        if (period != 0 && (period < 1000 || period > 1_000_000)) throw EngineException.BadRequest("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
        if (quota > 0 && quota < 1000) throw EngineException.BadRequest("CPU cfs quota can not be less than 1ms (i.e. 1000)");
        if (cpuset != "")
        {
            var set = ParseCpuset(cpuset) ?? throw EngineException.BadRequest($"Invalid value {cpuset} for cpuset cpus");
            var avail = Available();
            if (!set.All(avail.Contains)) throw EngineException.BadRequest($"Requested CPUs are not available - requested {cpuset}, available: {AvailableText()}");
        }
        if (blkio > 0 && (blkio < 10 || blkio > 1000)) throw EngineException.BadRequest("Range of blkio weight is from 10 to 1000");
    }

    private static readonly HashSet<string> UlimitNames =
        ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack", "as"];

    private static void ValidateSecurityOpts(HostConfig hc, List<string> caps)
    {
        int i = 0;
        foreach (var o in hc.SecurityOpt ?? [])
        {
            i++;
            var (k, v) = SpecBuilder.SplitSecurityOpt(o);
            switch (k)
            {
                case "no-new-privileges":
                    if (v is not null && !bool.TryParse(v, out _)) throw EngineException.BadRequest($"invalid --security-opt 2: \"{o}\"");
                    break;
                case "seccomp" when v is not null:
                    if (v is "unconfined" or "builtin" || hc.Privileged) break;
                    var profile = DockerSeccompProfile.Parse(v, caps);
                    // Compiling now finds unknown actions, operators and architectures before anything exists.
                    try { Berth.Linux.Security.Seccomp.Compile(profile); }
                    catch (Berth.Linux.Security.SecurityConfigException e) { throw EngineException.BadRequest($"Decoding seccomp profile failed: {e.Message}"); }
                    break;
                case "apparmor" or "label" when v is not null:
                    break; // no LSM on this host: accepted and ignored, as docker does without AppArmor/SELinux
                default:
                    throw EngineException.BadRequest($"invalid --security-opt 1: \"{o}\"");
            }
        }
    }

    private static void ValidateMount(MountSpec m)
    {
        if (m.Target == "") throw EngineException.BadRequest("invalid mount config: Target must not be empty");
        if (!m.Target.StartsWith('/')) throw EngineException.BadRequest($"invalid mount config for type \"{m.Type}\": invalid mount path: '{m.Target}' mount path must be absolute");
        switch (m.Type)
        {
            case "bind":
                if (m.Source == "") throw EngineException.BadRequest("invalid mount config for type \"bind\": field Source must not be empty");
                if (!m.Source.StartsWith('/')) throw EngineException.BadRequest($"invalid mount config for type \"bind\": invalid mount path: '{m.Source}' mount path must be absolute");
                // docker refuses a missing source for --mount (only -v creates it).
                if (!Path.Exists(m.Source)) throw EngineException.BadRequest($"invalid mount config for type \"bind\": bind source path does not exist: {m.Source}");
                break;
            case "volume":
                if (m.Source != "" && !System.Text.RegularExpressions.Regex.IsMatch(m.Source, "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"))
                    throw EngineException.BadRequest($"invalid mount config for type \"volume\": invalid volume name: '{m.Source}'");
                break;
            case "tmpfs":
                if (m.Source != "") throw EngineException.BadRequest("invalid mount config for type \"tmpfs\": field Source must not be specified");
                break;
            default:
                throw EngineException.BadRequest($"invalid mount config: mount type unknown: \"{m.Type}\"");
        }
    }

    public static void ValidateHealth(HealthConfig h)
    {
        if (h.Interval != 0 && h.Interval < MinimumDurationNs) throw EngineException.BadRequest("Interval in Healthcheck cannot be less than 1ms");
        if (h.Timeout != 0 && h.Timeout < MinimumDurationNs) throw EngineException.BadRequest("Timeout in Healthcheck cannot be less than 1ms");
        if (h.Retries < 0) throw EngineException.BadRequest("Retries in Healthcheck cannot be negative");
        if (h.StartPeriod != 0 && h.StartPeriod < MinimumDurationNs) throw EngineException.BadRequest("StartPeriod in Healthcheck cannot be less than 1ms");
        if (h.StartInterval != 0 && h.StartInterval < MinimumDurationNs) throw EngineException.BadRequest("StartInterval in Healthcheck cannot be less than 1ms");
        if (h.Test is [var kind, ..] && kind is not ("NONE" or "CMD" or "CMD-SHELL"))
            throw EngineException.BadRequest($"unknown healthcheck type '{kind}' (expected NONE, CMD or CMD-SHELL)");
    }

    private static bool TryTmpfsSize(string s)
    {
        if (s.EndsWith('%')) return int.TryParse(s[..^1], out var p) && p > 0;
        s = s.ToLowerInvariant();
        if (s.Length > 0 && "kmgtpe".Contains(s[^1])) s = s[..^1];
        return ulong.TryParse(s, out _);
    }

    /// <summary>"0-2,4" into {0,1,2,4}; null when it does not parse.</summary>
    public static HashSet<int>? ParseCpuset(string s)
    {
        var set = new HashSet<int>();
        foreach (var part in s.Split(','))
        {
            var r = part.Split('-');
            if (r.Length == 1 && int.TryParse(r[0], out var one) && one >= 0) set.Add(one);
            else if (r.Length == 2 && int.TryParse(r[0], out var a) && int.TryParse(r[1], out var b) && a >= 0 && a <= b) for (int i = a; i <= b; i++) set.Add(i);
            else return null;
        }
        return set;
    }

    private static string AvailableText()
    {
        foreach (var p in new[] { "/sys/fs/cgroup/cpuset/cpuset.effective_cpus", "/sys/fs/cgroup/cpuset/cpuset.cpus", "/sys/fs/cgroup/cpuset.cpus.effective" })
            if (File.Exists(p) && File.ReadAllText(p).Trim() is { Length: > 0 } t) return t;
        return Environment.ProcessorCount == 1 ? "0" : $"0-{Environment.ProcessorCount - 1}";
    }

    private static HashSet<int> Available() => ParseCpuset(AvailableText()) ?? [];

    /// <summary>Weights need a proportional I/O scheduler: v1 blkio.weight (CFQ) or blkio.bfq.weight (BFQ, only in child groups), v2 io.weight / io.bfq.weight.</summary>
    private static readonly Lazy<bool> BlkioWeightProbe = new(() =>
    {
        if (Directory.Exists("/sys/fs/cgroup/blkio"))
        {
            if (File.Exists("/sys/fs/cgroup/blkio/blkio.weight")) return true;
            // BFQ's files appear below the root only; its statistics files at the root show it is there.
            return File.Exists("/sys/fs/cgroup/blkio/blkio.bfq.io_serviced") || File.Exists("/sys/fs/cgroup/blkio/blkio.bfq.weight");
        }
        return File.Exists("/sys/fs/cgroup/cgroup.controllers") && File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Contains("io");
    });
    public static bool BlkioWeightSupported => BlkioWeightProbe.Value;
}
