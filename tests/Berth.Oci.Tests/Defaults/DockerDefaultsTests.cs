using System.Text.Json;
using Berth.Oci.Defaults;
using Berth.Oci.Runtime;

namespace Berth.Oci.Tests.Defaults;

public class DockerDefaultsTests
{
    private static readonly string[] DockerCaps =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    };

    [Fact]
    public void Capabilities_are_dockers_fourteen()
    {
        Assert.Equal(DockerCaps.Order(), DockerDefaults.Capabilities().Order());
        DockerDefaults.Capabilities().Clear(); // a fresh copy each time
        Assert.Equal(14, DockerDefaults.Capabilities().Count);
    }

    [Fact]
    public void Masked_and_readonly_paths()
    {
        var masked = DockerDefaults.MaskedPaths();
        foreach (var p in new[] { "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/proc/acpi", "/proc/asound", "/proc/latency_stats", "/proc/timer_stats" })
            Assert.Contains(p, masked);
        Assert.Equal(new[] { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" }, DockerDefaults.ReadonlyPaths());
        Assert.Empty(masked.Intersect(DockerDefaults.ReadonlyPaths()));
    }

    /// <summary>How the profile treats a syscall name: "allow", "errno:N", "conditional", or "default".</summary>
    internal static string Treatment(LinuxSeccomp p, string name)
    {
        var rules = p.Syscalls!.Where(r => r.Names!.Contains(name)).ToList();
        if (rules.Count == 0) return "default";
        if (rules.Any(r => r.Args is { Count: > 0 })) return "conditional";
        var r0 = Assert.Single(rules);
        return r0.Action == "SCMP_ACT_ALLOW" ? "allow" : $"errno:{r0.ErrnoRet}";
    }

    [Fact]
    public void Default_action_is_ENOSYS_and_the_architectures_are_x86()
    {
        var p = DockerDefaults.Seccomp();
        Assert.Equal("SCMP_ACT_ERRNO", p.DefaultAction);
        Assert.Equal(38u, p.DefaultErrnoRet);
        Assert.Equal(new[] { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" }, p.Architectures);
    }

    [Theory]
    [InlineData("read")] [InlineData("write")] [InlineData("openat")] [InlineData("execve")] [InlineData("futex")]
    [InlineData("mmap")] [InlineData("rt_sigreturn")] [InlineData("epoll_wait")] [InlineData("rseq")] [InlineData("membarrier")]
    [InlineData("chroot")] [InlineData("setuid")] [InlineData("accept4")] [InlineData("statx")] [InlineData("ptrace")]
    [InlineData("arch_prctl")] [InlineData("chown32")] [InlineData("socketcall")] [InlineData("pidfd_open")] [InlineData("getppid")]
    public void Everyday_syscalls_are_allowed(string name) => Assert.Equal("allow", Treatment(DockerDefaults.Seccomp(), name));

    [Theory]
    [InlineData("mount", "CAP_SYS_ADMIN")] [InlineData("umount2", "CAP_SYS_ADMIN")] [InlineData("setns", "CAP_SYS_ADMIN")]
    [InlineData("unshare", "CAP_SYS_ADMIN")] [InlineData("sethostname", "CAP_SYS_ADMIN")] [InlineData("fsopen", "CAP_SYS_ADMIN")]
    [InlineData("reboot", "CAP_SYS_BOOT")] [InlineData("init_module", "CAP_SYS_MODULE")] [InlineData("finit_module", "CAP_SYS_MODULE")]
    [InlineData("delete_module", "CAP_SYS_MODULE")] [InlineData("kcmp", "CAP_SYS_PTRACE")] [InlineData("pidfd_getfd", "CAP_SYS_PTRACE")]
    [InlineData("acct", "CAP_SYS_PACCT")] [InlineData("iopl", "CAP_SYS_RAWIO")] [InlineData("settimeofday", "CAP_SYS_TIME")]
    [InlineData("clock_settime", "CAP_SYS_TIME")] [InlineData("vhangup", "CAP_SYS_TTY_CONFIG")] [InlineData("mbind", "CAP_SYS_NICE")]
    [InlineData("open_by_handle_at", "CAP_DAC_READ_SEARCH")] [InlineData("syslog", "CAP_SYSLOG")] [InlineData("bpf", "CAP_BPF")]
    [InlineData("perf_event_open", "CAP_PERFMON")]
    public void Capability_gated_syscalls_are_EPERM_without_and_allowed_with(string name, string cap)
    {
        Assert.Equal("errno:1", Treatment(DockerDefaults.Seccomp(), name));
        Assert.Equal("allow", Treatment(DockerDefaults.Seccomp(DockerDefaults.Capabilities().Append(cap)), name));
    }

    [Theory]
    [InlineData("kexec_load")] [InlineData("keyctl")] [InlineData("add_key")] [InlineData("swapon")] [InlineData("pivot_root")]
    [InlineData("userfaultfd")] [InlineData("open_tree")] [InlineData("move_mount")] [InlineData("quotactl")]
    public void Privileged_syscalls_are_EPERM(string name) => Assert.Equal("errno:1", Treatment(DockerDefaults.Seccomp(), name));

    [Theory]
    [InlineData("io_uring_setup")] [InlineData("io_uring_enter")] [InlineData("no_such_call")]
    public void Unlisted_syscalls_fall_to_the_ENOSYS_default(string name) => Assert.Equal("default", Treatment(DockerDefaults.Seccomp(), name));

    [Fact]
    public void Clone_is_filtered_and_clone3_is_ENOSYS_without_CAP_SYS_ADMIN()
    {
        var p = DockerDefaults.Seccomp();
        Assert.Equal("errno:38", Treatment(p, "clone3"));
        var clone = p.Syscalls!.Where(r => r.Names!.Contains("clone")).ToList();
        var allow = Assert.Single(clone, r => r.Action == "SCMP_ACT_ALLOW");
        var arg = Assert.Single(allow.Args!);
        Assert.Equal(("SCMP_CMP_MASKED_EQ", 0u, 0x7E020000ul, 0ul), (arg.Op, arg.Index, arg.Value, arg.ValueTwo));
        Assert.Equal(7, clone.Count(r => r.Action == "SCMP_ACT_ERRNO" && r.ErrnoRet == 1));

        var admin = DockerDefaults.Seccomp(new[] { "CAP_SYS_ADMIN" });
        Assert.Equal("allow", Treatment(admin, "clone"));
        Assert.Equal("allow", Treatment(admin, "clone3"));
    }

    [Fact]
    public void Personality_allows_only_dockers_values()
    {
        var values = DockerDefaults.Seccomp().Syscalls!.Where(r => r.Names!.Contains("personality"))
            .Select(r => (r.Action, Assert.Single(r.Args!).Op, r.Args![0].Value)).ToList();
        Assert.Equal(new ulong[] { 0, 8, 0x20000, 0x20008, 0xffffffff }, values.Select(v => v.Value));
        Assert.All(values, v => Assert.Equal(("SCMP_ACT_ALLOW", "SCMP_CMP_EQ"), (v.Action, v.Op)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("CAP_SYS_ADMIN,CAP_SYS_PTRACE,CAP_SYS_BOOT,CAP_SYS_MODULE,CAP_SYS_TIME,CAP_SYS_NICE,CAP_BPF,CAP_PERFMON,CAP_SYSLOG,CAP_SYS_RAWIO,CAP_SYS_PACCT,CAP_SYS_TTY_CONFIG,CAP_DAC_READ_SEARCH,CAP_SYS_CHROOT")]
    [InlineData("")]
    public void No_syscall_gets_two_unconditional_rules_or_mixes_them_with_conditional_ones(string? caps)
    {
        // libseccomp silently keeps one action when a name gets two: the profile must never ask for that.
        var p = DockerDefaults.Seccomp(caps is null ? null : caps.Split(',', StringSplitOptions.RemoveEmptyEntries));
        var unconditional = p.Syscalls!.Where(r => r.Args is not { Count: > 0 }).SelectMany(r => r.Names!).ToList();
        var conditional = p.Syscalls!.Where(r => r.Args is { Count: > 0 }).SelectMany(r => r.Names!).ToHashSet();
        Assert.Equal(unconditional.Count, unconditional.Distinct().Count());
        Assert.Empty(unconditional.Intersect(conditional));
        Assert.All(p.Syscalls!, r => Assert.NotEmpty(r.Names!));
    }

    [Fact]
    public void Profile_serializes_as_runtime_spec_json()
    {
        var spec = new Spec { Linux = new Runtime.Linux { Seccomp = DockerDefaults.Seccomp() } };
        var json = JsonSerializer.Serialize(spec, OciJsonContext.Default.Spec);
        Assert.Contains("\"defaultErrnoRet\": 38", json);
        var back = JsonSerializer.Deserialize(json, OciJsonContext.Default.Spec)!;
        Assert.Equal(spec.Linux.Seccomp.Syscalls!.Count, back.Linux!.Seccomp!.Syscalls!.Count);
        Assert.Equal("clone", back.Linux.Seccomp.Syscalls!.First(r => r.Args is { Count: > 0 } && r.Names![0] == "clone").Names![0]);
    }
}
