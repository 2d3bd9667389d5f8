using Berth.Linux.Interop;
using Berth.Linux.Security;
using Berth.Oci.Runtime;
using static Berth.Linux.Tests.Security.SeccompCompileTests;

namespace Berth.Linux.Tests.Security;

/// <summary>
/// Real-kernel tests: each filter is installed without TSYNC on a dedicated thread, so it binds
/// only that thread (which then ends); the test thread checks it stayed unfiltered.
/// </summary>
public class SeccompKernelTests
{
    internal const long NrUname = 63, NrGetppid = 110, NrGetpgid = 121, NrClone3 = 435;

    /// <summary>A raw syscall: its result and errno (0 on success).</summary>
    internal static (long Rc, int Errno) Raw(long nr, long a1 = 0)
    {
        long rc = LibC.syscall(nr, a1, 0, 0, 0, 0, 0);
        return (rc, rc < 0 ? Errno.Last : 0);
    }

    [Fact]
    public void Errno_rule_denies_only_on_the_filtered_thread()
    {
        var program = Seccomp.Compile(Profile("SCMP_ACT_ALLOW",
            Rule("SCMP_ACT_ERRNO", 1234, "getppid"), Rule("SCMP_ACT_ERRNO", 38, "uname")));
        var (ppid, uname, pid, other) = DedicatedThread.Run(() =>
        {
            var before = Raw(NrGetppid);
            Assert.Equal(-1, SeccompFilter.Install(program));
            return (Raw(NrGetppid), Raw(NrUname, 0), Raw(39 /* getpid */), before);
        });
        Assert.True(other.Rc > 0);
        Assert.Equal((-1L, 1234), ppid);
        Assert.Equal((-1L, 38), uname); // uname(NULL) would be EFAULT unfiltered
        Assert.True(pid.Rc > 0);
        // This thread is unaffected.
        Assert.Equal(other.Rc, Raw(NrGetppid).Rc);
        Assert.Equal(14, Raw(NrUname, 0).Errno); // EFAULT: the real uname ran
    }

    [Fact]
    public void Argument_comparisons_work_in_the_kernel()
    {
        var gt = Rule("SCMP_ACT_ERRNO", 77, "getpgid");
        gt.Args = new() { new LinuxSeccompArg { Index = 0, Op = "SCMP_CMP_GT", Value = 1_000_000_000 } };
        var masked = Rule("SCMP_ACT_ERRNO", 78, "getpgid");
        // (pid & 0xff00) == 0x3300
        masked.Args = new() { new LinuxSeccompArg { Index = 0, Op = "SCMP_CMP_MASKED_EQ", Value = 0xff00, ValueTwo = 0x3300 } };
        var either = Rule("SCMP_ACT_ERRNO", 79, "getpgid");
        // Same index twice: either comparison matches (one rule each, as runc).
        either.Args = new()
        {
            new LinuxSeccompArg { Index = 0, Op = "SCMP_CMP_EQ", Value = 5 },
            new LinuxSeccompArg { Index = 0, Op = "SCMP_CMP_EQ", Value = 7 },
        };
        var program = Seccomp.Compile(Profile("SCMP_ACT_ALLOW", gt, masked, either));
        var r = DedicatedThread.Run(() =>
        {
            SeccompFilter.Install(program);
            return new[] { Raw(NrGetpgid, 0), Raw(NrGetpgid, 2_000_000_000), Raw(NrGetpgid, 0x3301),
                Raw(NrGetpgid, 5), Raw(NrGetpgid, 6), Raw(NrGetpgid, 7) };
        });
        Assert.True(r[0].Rc > 0);        // own process group
        Assert.Equal(77, r[1].Errno);
        Assert.Equal(78, r[2].Errno);
        Assert.Equal(79, r[3].Errno);
        Assert.NotEqual(79, r[4].Errno); // pid 6: the kernel's own answer
        Assert.Equal(79, r[5].Errno);
    }

    [Fact]
    public void Notify_install_returns_a_listener_and_without_it_the_syscall_fails_ENOSYS()
    {
        var p = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_NOTIFY", null, "getppid"));
        p.ListenerPath = "/run/unused.sock";
        var program = Seccomp.Compile(p);
        var (fd, afterClose) = DedicatedThread.Run(() =>
        {
            int listener = SeccompFilter.Install(program);
            LibC.close(listener);
            return (listener, Raw(NrGetppid));
        });
        Assert.True(fd > 2);
        Assert.Equal((-1L, Errno.ENOSYS), afterClose);
    }

    [Fact]
    public void A_second_unconditional_rule_for_a_syscall_is_ignored_with_a_warning()
    {
        var program = Seccomp.Compile(Profile("SCMP_ACT_ALLOW",
            Rule("SCMP_ACT_ERRNO", 77, "getppid"), Rule("SCMP_ACT_ERRNO", 88, "getppid"), Rule("SCMP_ACT_ERRNO", 77, "getppid")));
        var w = Assert.Single(program.Warnings);
        Assert.Equal("linux.seccomp.syscalls[1]: \"getppid\" already has a rule without arguments in linux.seccomp.syscalls[0]; this one is ignored", w);
        var r = DedicatedThread.Run(() => { SeccompFilter.Install(program); return Raw(NrGetppid); });
        Assert.Equal((-1L, 77), r); // the first rule wins
    }

    [Fact]
    public void Trace_without_a_tracer_fails_ENOSYS_and_log_lets_the_call_through()
    {
        // Default ALLOW keeps the .NET runtime's own syscalls on this thread working.
        var program = Seccomp.Compile(Profile("SCMP_ACT_ALLOW",
            Rule("SCMP_ACT_TRACE", 1234, "getppid"), Rule("SCMP_ACT_LOG", null, "getpgid"), Rule("SCMP_ACT_ERRNO", null, "uname")));
        var (trace, log, plainErrno) = DedicatedThread.Run(() =>
        {
            SeccompFilter.Install(program);
            return (Raw(NrGetppid), Raw(NrGetpgid, 0), Raw(NrUname, 0));
        });
        Assert.Equal((-1L, Errno.ENOSYS), trace); // SECCOMP_RET_TRACE with no tracer
        Assert.True(log.Rc > 0);
        Assert.Equal((-1L, 1), plainErrno);         // SCMP_ACT_ERRNO without errnoRet: EPERM
    }

    [Fact]
    public void Install_rejects_a_malformed_program()
    {
        Assert.Throws<ArgumentException>(() => SeccompFilter.Install(new byte[12], 0));
        Assert.Throws<ArgumentException>(() => SeccompFilter.Install(Array.Empty<byte>(), 0));
    }
}
