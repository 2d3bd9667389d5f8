using Berth.Linux.Security;
using Berth.Oci.Runtime;

namespace Berth.Linux.Tests.Security;

public class SeccompCompileTests
{
    internal static LinuxSeccomp Profile(string defaultAction, params LinuxSyscall[] calls) => new()
    {
        DefaultAction = defaultAction,
        Architectures = new() { "SCMP_ARCH_X86_64" },
        Syscalls = calls.ToList(),
    };

    internal static LinuxSyscall Rule(string action, uint? errno, params string[] names) =>
        new() { Names = names.ToList(), Action = action, ErrnoRet = errno };

    [Theory]
    [InlineData("SCMP_ACT_KILL")]
    [InlineData("SCMP_ACT_KILL_PROCESS")]
    [InlineData("SCMP_ACT_KILL_THREAD")]
    [InlineData("SCMP_ACT_TRAP")]
    [InlineData("SCMP_ACT_ERRNO")]
    [InlineData("SCMP_ACT_TRACE")]
    [InlineData("SCMP_ACT_LOG")]
    [InlineData("SCMP_ACT_NOTIFY")]
    public void Every_action_compiles_deterministically(string action)
    {
        var p = Profile("SCMP_ACT_ALLOW", Rule(action, 42, "getppid"));
        p.ListenerPath = "/run/test.sock";
        var a = Seccomp.Compile(p);
        var b = Seccomp.Compile(p);
        Assert.NotEmpty(a.Bpf);
        Assert.Equal(0, a.Bpf.Length % 8);
        Assert.Equal(a.Bpf, b.Bpf);
        // The program differs from one without the rule.
        Assert.NotEqual(Seccomp.Compile(Profile("SCMP_ACT_ALLOW")).Bpf, a.Bpf);
        Assert.Equal(action == "SCMP_ACT_NOTIFY", a.UsesNotify);
        Assert.Equal(action == "SCMP_ACT_NOTIFY", (a.Flags & SeccompFlags.NewListener) != 0);
    }

    [Theory]
    [InlineData("SCMP_ACT_ERRNO", 0x00050000u | 1)]
    [InlineData("SCMP_ACT_TRACE", 0x7ff00000u | 1)]
    [InlineData("SCMP_ACT_ALLOW", 0x7fff0000u)]
    [InlineData("SCMP_ACT_KILL", 0u)]
    [InlineData("SCMP_ACT_KILL_PROCESS", 0x80000000u)]
    public void Actions_map_to_kernel_values_with_EPERM_as_default_errno(string action, uint value) =>
        Assert.Equal(value, Seccomp.ParseAction(action, null, "x"));

    [Fact]
    public void ErrnoRet_is_carried_in_the_return_value()
    {
        Assert.Equal(0x00050000u | 38, Seccomp.ParseAction("SCMP_ACT_ERRNO", 38, "x"));
        Assert.Equal(0x7ff00000u | 1234, Seccomp.ParseAction("SCMP_ACT_TRACE", 1234, "x"));
        // The errno is in the program: two errnos give two programs.
        var a = Seccomp.Compile(Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", 38, "getppid")));
        var b = Seccomp.Compile(Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", 39, "getppid")));
        Assert.NotEqual(a.Bpf, b.Bpf);
    }

    [Theory]
    [InlineData("SCMP_CMP_NE")]
    [InlineData("SCMP_CMP_LT")]
    [InlineData("SCMP_CMP_LE")]
    [InlineData("SCMP_CMP_EQ")]
    [InlineData("SCMP_CMP_GE")]
    [InlineData("SCMP_CMP_GT")]
    [InlineData("SCMP_CMP_MASKED_EQ")]
    public void Every_operator_compiles(string op)
    {
        var rule = Rule("SCMP_ACT_ERRNO", 1, "getpgid");
        rule.Args = new() { new LinuxSeccompArg { Index = 0, Op = op, Value = 0xff, ValueTwo = 7 } };
        var a = Seccomp.Compile(Profile("SCMP_ACT_ALLOW", rule));
        Assert.NotEmpty(a.Bpf);
        Assert.Equal(a.Bpf, Seccomp.Compile(Profile("SCMP_ACT_ALLOW", rule)).Bpf);
        var unconditional = Seccomp.Compile(Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", 1, "getpgid")));
        Assert.NotEqual(unconditional.Bpf, a.Bpf);
    }

    [Fact]
    public void Same_index_comparisons_compile_as_separate_rules()
    {
        var rule = Rule("SCMP_ACT_ERRNO", 1, "getpgid");
        rule.Args = new()
        {
            new LinuxSeccompArg { Index = 0, Op = "SCMP_CMP_EQ", Value = 5 },
            new LinuxSeccompArg { Index = 0, Op = "SCMP_CMP_EQ", Value = 7 },
        };
        Assert.NotEmpty(Seccomp.Compile(Profile("SCMP_ACT_ALLOW", rule)).Bpf);
    }

    [Fact]
    public void Unknown_action_names_the_field()
    {
        var p = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", 1, "getppid"), Rule("SCMP_ACT_ERRNO", 1, "uname"),
            Rule("SCMP_ACT_ERRNO", 1, "getpid"), Rule("SCMP_ACT_FOO", null, "getuid"));
        var e = Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(p));
        Assert.Equal("unknown seccomp action \"SCMP_ACT_FOO\" in linux.seccomp.syscalls[3].action", e.Message);

        e = Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(Profile("SCMP_ACT_BAR")));
        Assert.Equal("unknown seccomp action \"SCMP_ACT_BAR\" in linux.seccomp.defaultAction", e.Message);
    }

    [Fact]
    public void Unknown_operator_and_bad_index_name_the_field()
    {
        var rule = Rule("SCMP_ACT_ERRNO", 1, "getpgid");
        rule.Args = new() { new() { Index = 0, Op = "SCMP_CMP_EQ" }, new() { Index = 1, Op = "SCMP_CMP_XOR" } };
        var e = Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(Profile("SCMP_ACT_ALLOW", rule)));
        Assert.Equal("unknown seccomp operator \"SCMP_CMP_XOR\" in linux.seccomp.syscalls[0].args[1].op", e.Message);

        rule.Args = new() { new() { Index = 6, Op = "SCMP_CMP_EQ" } };
        e = Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(Profile("SCMP_ACT_ALLOW", rule)));
        Assert.Contains("linux.seccomp.syscalls[0].args[0].index", e.Message);
    }

    [Fact]
    public void Unknown_architecture_and_flag_name_the_field()
    {
        var p = Profile("SCMP_ACT_ALLOW");
        p.Architectures = new() { "SCMP_ARCH_X86_64", "SCMP_ARCH_Z80" };
        var e = Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(p));
        Assert.Equal("unknown seccomp architecture \"SCMP_ARCH_Z80\" in linux.seccomp.architectures[1]", e.Message);

        p = Profile("SCMP_ACT_ALLOW");
        p.Architectures = new() { "x86_64" };
        e = Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(p));
        Assert.Equal("unknown seccomp architecture \"x86_64\" in linux.seccomp.architectures[0]", e.Message);

        p = Profile("SCMP_ACT_ALLOW");
        p.Flags = new() { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS" };
        e = Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(p));
        Assert.Equal("unknown seccomp flag \"SECCOMP_FILTER_FLAG_BOGUS\" in linux.seccomp.flags[1]", e.Message);
    }

    [Fact]
    public void Multiple_architectures_make_a_larger_program()
    {
        var one = Seccomp.Compile(Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", null, "read", "write", "chown32")));
        var p = Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", null, "read", "write", "chown32"));
        p.Architectures = new() { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" };
        var three = Seccomp.Compile(p);
        Assert.True(three.InstructionCount > one.InstructionCount);
    }

    [Fact]
    public void Unknown_syscall_names_are_skipped_and_reported()
    {
        var p = Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", null, "read", "no_such_syscall_xyz"));
        var withUnknown = Seccomp.Compile(p);
        Assert.Equal(new[] { "no_such_syscall_xyz" }, withUnknown.SkippedSyscalls);
        Assert.Equal(Seccomp.Compile(Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", null, "read"))).Bpf, withUnknown.Bpf);
    }

    [Fact]
    public void Rules_equal_to_the_default_are_skipped()
    {
        var p = Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", null, "read"), Rule("SCMP_ACT_ERRNO", null, "mount"));
        Assert.Equal(Seccomp.Compile(Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", null, "read"))).Bpf, Seccomp.Compile(p).Bpf);
        // A different errno is a different action and is kept.
        var q = Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", null, "read"), Rule("SCMP_ACT_ERRNO", 38, "mount"));
        Assert.NotEqual(Seccomp.Compile(p).Bpf, Seccomp.Compile(q).Bpf);
    }

    [Fact]
    public void Notify_needs_a_listener_path_and_is_refused_for_write_and_as_default()
    {
        var e = Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_NOTIFY", null, "mkdir"))));
        Assert.Contains("listenerPath", e.Message);
        var p = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_NOTIFY", null, "write"));
        p.ListenerPath = "/run/x.sock";
        Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(p));
        Assert.Throws<SecurityConfigException>(() => Seccomp.Compile(Profile("SCMP_ACT_NOTIFY")));
    }

    [Fact]
    public void Flags_become_kernel_filter_flags()
    {
        var p = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", null, "mount"));
        p.Flags = new() { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" };
        var c = Seccomp.Compile(p);
        Assert.Equal(SeccompFlags.Tsync | SeccompFlags.Log | SeccompFlags.SpecAllow, c.Flags); // WAIT_KILLABLE_RECV needs a listener

        p.Syscalls!.Add(Rule("SCMP_ACT_NOTIFY", null, "mkdir"));
        p.ListenerPath = "/run/x.sock";
        c = Seccomp.Compile(p);
        Assert.Equal(SeccompFlags.Tsync | SeccompFlags.Log | SeccompFlags.SpecAllow | SeccompFlags.WaitKillableRecv
            | SeccompFlags.NewListener | SeccompFlags.TsyncEsrch, c.Flags);
    }

    [Fact]
    public void Kernel_supports_the_flags_this_machine_needs()
    {
        Assert.True(SeccompFilter.IsFlagSupported(SeccompFlags.Tsync));
        Assert.True(SeccompFilter.IsFlagSupported(SeccompFlags.Log));
        Assert.True(SeccompFilter.IsFlagSupported(SeccompFlags.NewListener));
        Assert.True(SeccompFilter.IsFlagSupported(SeccompFlags.WaitKillableRecv)); // kernel >= 5.19
        Assert.False(SeccompFilter.IsFlagSupported(1u << 20));
        Assert.True(SeccompFilter.IsActionAvailable(Seccomp.ActKillProcess));
        Assert.False(SeccompFilter.IsActionAvailable(0x12340000));
    }
}
