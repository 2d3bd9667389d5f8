using Berth.Oci.Runtime;

namespace Berth.Oci.Defaults;

/// <summary>
/// Docker's container defaults as data: the default capability set, the masked and read-only
/// paths, and a seccomp profile that behaves like Docker's default profile on x86_64.
/// Pure data: nothing here calls the kernel. Every call returns fresh lists the caller may change.
/// </summary>
public static class DockerDefaults
{
    private static readonly string[] DefaultCapabilities =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    };

    // /sys/devices/virtual/powercap: masked by Docker since 24.0.7/25 (RAPL energy counters, CVE-2020-8694).
    private static readonly string[] DefaultMaskedPaths =
    {
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
        "/sys/firmware", "/sys/devices/virtual/powercap",
    };

    private static readonly string[] DefaultReadonlyPaths =
    {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    };

    /// <summary>Docker's default capability set (the same list for bounding, effective, permitted).</summary>
    public static List<string> Capabilities() => new(DefaultCapabilities);

    /// <summary>Paths Docker masks (a /dev/null bind for files, an empty read-only tmpfs for directories).</summary>
    public static List<string> MaskedPaths() => new(DefaultMaskedPaths);

    /// <summary>Paths Docker remounts read-only.</summary>
    public static List<string> ReadonlyPaths() => new(DefaultReadonlyPaths);

    /// <summary>ENOSYS: what the profile returns for a syscall it does not name.</summary>
    public const uint SeccompDefaultErrno = 38;

    /// <summary>EPERM: what the profile returns for a syscall it names and denies (mount, ptrace, ...).</summary>
    public const uint SeccompDeniedErrno = 1;

    /// <summary>
    /// A seccomp profile with the behaviour of Docker's default profile, for x86_64 (with the
    /// x86 and x32 ABIs), given the container's capabilities (Docker uses the bounding set;
    /// null means <see cref="Capabilities"/>).
    /// </summary>
    /// <remarks>
    /// <para>Syscalls a normal container needs are allowed; capability-gated ones are allowed only when
    /// the capability is present (CAP_SYS_ADMIN: mount, umount2, setns, unshare, clone with namespace
    /// flags, clone3, ...; CAP_SYS_PTRACE: kcmp, pidfd_getfd, process_madvise; CAP_SYS_BOOT: reboot;
    /// CAP_SYS_MODULE: init/finit/delete_module; and so on). As in Docker since 19.03 (kernels
    /// 4.8 and later), ptrace and process_vm_readv/writev are allowed to everyone: the kernel still
    /// checks ptrace access.</para>
    /// <para>The one deliberate difference: the default action returns <b>ENOSYS</b>, not EPERM,
    /// so a syscall the profile does not know (newer than it, or io_uring_*, which Docker 25 also
    /// stopped allowing) looks unimplemented and libc falls back (glibc's clone3 -> clone, fchmodat2
    /// -> fchmodat, ...). Syscalls the profile knows and denies still get <b>EPERM</b>, as in Docker,
    /// through explicit rules; clone with a namespace flag gets EPERM; clone3 gets ENOSYS without
    /// CAP_SYS_ADMIN (its flags live in memory, which seccomp cannot inspect), so glibc falls back to
    /// clone, which is filtered. personality with an argument outside Docker's list gets ENOSYS.</para>
    /// </remarks>
    public static LinuxSeccomp Seccomp(IEnumerable<string>? capabilities = null)
    {
        var caps = new HashSet<string>(capabilities ?? DefaultCapabilities, StringComparer.Ordinal);
        bool Has(string cap) => caps.Contains(cap);
        bool sysAdmin = Has("CAP_SYS_ADMIN");

        var syscalls = new List<LinuxSyscall>();
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        void Allow(IEnumerable<string> names, List<LinuxSeccompArg>? args = null)
        {
            var list = names.Where(n => args is not null || allowed.Add(n)).ToList();
            if (list.Count == 0) return;
            syscalls.Add(new LinuxSyscall { Names = list, Action = "SCMP_ACT_ALLOW", Args = args });
        }

        Allow(SeccompSyscalls.Allowed);

        foreach (var value in SeccompSyscalls.PersonalityValues)
            Allow(new[] { "personality" }, new() { new LinuxSeccompArg { Index = 0, Value = value, Op = "SCMP_CMP_EQ" } });

        foreach (var (cap, names) in SeccompSyscalls.ByCapability)
            if (Has(cap)) Allow(names);

        // socket: every family but AF_VSOCK, which reaches the host's hypervisor sockets.
        syscalls.Add(new LinuxSyscall
        {
            Names = new() { "socket" }, Action = "SCMP_ACT_ALLOW",
            Args = new() { new LinuxSeccompArg { Index = 0, Value = SeccompSyscalls.AfVsock, Op = "SCMP_CMP_NE" } },
        });
        syscalls.Add(new LinuxSyscall
        {
            Names = new() { "socket" }, Action = "SCMP_ACT_ERRNO", ErrnoRet = SeccompDeniedErrno,
            Args = new() { new LinuxSeccompArg { Index = 0, Value = SeccompSyscalls.AfVsock, Op = "SCMP_CMP_EQ" } },
        });

        if (!sysAdmin)
        {
            // clone: allowed without namespace flags; each namespace flag is EPERM.
            syscalls.Add(new LinuxSyscall
            {
                Names = new() { "clone" }, Action = "SCMP_ACT_ALLOW",
                Args = new() { new LinuxSeccompArg { Index = 0, Value = SeccompSyscalls.CloneNamespaceFlags, ValueTwo = 0, Op = "SCMP_CMP_MASKED_EQ" } },
            });
            foreach (var bit in SeccompSyscalls.CloneNamespaceBits)
                syscalls.Add(new LinuxSyscall
                {
                    Names = new() { "clone" }, Action = "SCMP_ACT_ERRNO", ErrnoRet = SeccompDeniedErrno,
                    Args = new() { new LinuxSeccompArg { Index = 0, Value = bit, ValueTwo = bit, Op = "SCMP_CMP_MASKED_EQ" } },
                });
            allowed.Add("clone");
            // clone3: ENOSYS, so that libc falls back to the filtered clone.
            syscalls.Add(new LinuxSyscall { Names = new() { "clone3" }, Action = "SCMP_ACT_ERRNO", ErrnoRet = SeccompDefaultErrno });
            allowed.Add("clone3");
        }
        else
        {
            Allow(new[] { "clone", "clone3" });
        }

        var denied = SeccompSyscalls.Privileged.Where(n => !allowed.Contains(n)).ToList();
        if (denied.Count > 0)
            syscalls.Add(new LinuxSyscall { Names = denied, Action = "SCMP_ACT_ERRNO", ErrnoRet = SeccompDeniedErrno });

        return new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_ERRNO",
            DefaultErrnoRet = SeccompDefaultErrno,
            Architectures = new() { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" },
            Syscalls = syscalls,
        };
    }
}
