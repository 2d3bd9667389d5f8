using Berth.Oci.Runtime;
using OciLinux = Berth.Oci.Runtime.Linux;
using OciCapabilities = Berth.Oci.Runtime.Capabilities;

namespace Berth.Oci.Defaults;

/// <summary>
/// The config.json that <c>runc spec</c> (runc 1.1.5) writes, as objects: the starting point
/// of <c>berth-runtime spec</c>. Pure data, except that <see cref="Spec(bool)"/> reads the
/// caller's uid and gid from /proc/self/status for the rootless mappings.
/// </summary>
public static class RuncDefaults
{
    /// <summary>The ociVersion runc 1.1.5 writes.</summary>
    public const string OciVersion = "1.0.2-dev";

    private static readonly string[] Caps = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" };

    /// <summary>runc's masked paths (Docker's list before /sys/devices/virtual/powercap, in runc's order).</summary>
    public static List<string> MaskedPaths() => new()
    {
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    };

    public static List<string> ReadonlyPaths() => new()
    {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    };

    /// <summary>The spec for the calling user: rootless maps the caller's effective uid and gid to 0.</summary>
    public static Spec Spec(bool rootless)
    {
        if (!rootless) return Spec(false, 0, 0);
        var (uid, gid) = CurrentIds();
        return Spec(true, uid, gid);
    }

    /// <summary>
    /// The spec <c>runc spec</c> (or <c>runc spec --rootless</c>, mapping container root to
    /// <paramref name="hostUid"/>/<paramref name="hostGid"/>) writes.
    /// </summary>
    public static Spec Spec(bool rootless, uint hostUid, uint hostGid)
    {
        var devpts = new List<string> { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620" };
        if (!rootless) devpts.Add("gid=5"); // no group 5 inside a user namespace that maps one gid

        var mounts = new List<Mount>
        {
            new() { Destination = "/proc", Type = "proc", Source = "proc" },
            new() { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = new() { "nosuid", "strictatime", "mode=755", "size=65536k" } },
            new() { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = devpts },
            new() { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = new() { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
            new() { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = new() { "nosuid", "noexec", "nodev" } },
            rootless
                // Without a network namespace of its own, a rootless container cannot mount sysfs: bind the host's.
                ? new() { Destination = "/sys", Type = "none", Source = "/sys", Options = new() { "rbind", "nosuid", "noexec", "nodev", "ro" } }
                : new() { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = new() { "nosuid", "noexec", "nodev", "ro" } },
            new() { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = new() { "nosuid", "noexec", "nodev", "relatime", "ro" } },
        };

        var namespaces = new List<LinuxNamespace> { new() { Type = "pid" } };
        if (!rootless) namespaces.Add(new() { Type = "network" });
        namespaces.Add(new() { Type = "ipc" });
        namespaces.Add(new() { Type = "uts" });
        namespaces.Add(new() { Type = "mount" });
        if (rootless) namespaces.Add(new() { Type = "user" });

        var linux = new OciLinux
        {
            Namespaces = namespaces,
            MaskedPaths = MaskedPaths(),
            ReadonlyPaths = ReadonlyPaths(),
        };
        if (rootless)
        {
            linux.UidMappings = new() { new IdMapping { ContainerId = 0, HostId = hostUid, Size = 1 } };
            linux.GidMappings = new() { new IdMapping { ContainerId = 0, HostId = hostGid, Size = 1 } };
        }
        else
        {
            // Deny every device; the runtime allows the default devices (null, zero, tty, ...) itself.
            linux.Resources = new LinuxResources { Devices = new() { new LinuxDeviceCgroup { Allow = false, Access = "rwm" } } };
        }

        return new Spec
        {
            OciVersion = OciVersion,
            Process = new Process
            {
                Terminal = true,
                User = new User { Uid = 0, Gid = 0 },
                Args = new() { "sh" },
                Env = new() { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm" },
                Cwd = "/",
                Capabilities = new OciCapabilities
                {
                    Bounding = new(Caps), Effective = new(Caps), Permitted = new(Caps), Ambient = new(Caps),
                },
                Rlimits = new() { new Rlimit { Type = "RLIMIT_NOFILE", Hard = 1024, Soft = 1024 } },
                NoNewPrivileges = true,
            },
            Root = new Root { Path = "rootfs", Readonly = true },
            Hostname = "runc",
            Mounts = mounts,
            Linux = linux,
        };
    }

    /// <summary>The effective uid and gid of this process, from /proc/self/status.</summary>
    public static (uint Uid, uint Gid) CurrentIds()
    {
        uint uid = 0, gid = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            // "Uid:\treal\teffective\tsaved\tfs"
            if (line.StartsWith("Uid:", StringComparison.Ordinal)) uid = EffectiveField(line);
            else if (line.StartsWith("Gid:", StringComparison.Ordinal)) gid = EffectiveField(line);
        }
        return (uid, gid);

        static uint EffectiveField(string line)
        {
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return uint.Parse(parts.Length > 2 ? parts[2] : parts[1], System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
