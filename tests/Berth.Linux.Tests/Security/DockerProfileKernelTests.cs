using Berth.Linux.Interop;
using Berth.Linux.Security;
using Berth.Oci.Defaults;
using static Berth.Linux.Tests.Security.SeccompKernelTests;

namespace Berth.Linux.Tests.Security;

/// <summary>Docker's default profile (Berth's version) compiled by libseccomp and run by the kernel.</summary>
public class DockerProfileKernelTests
{
    private const long NrClone = 56, NrMount = 165, NrUnshare = 272, NrSocket = 41, NrKexecLoad = 246, NrIoUringSetup = 425;
    private const long CloneNewUser = 0x10000000, CloneFs = 0x200, CloneSighand = 0x800;

    [Fact]
    public void Default_profile_compiles_within_the_kernel_limit()
    {
        var program = Seccomp.Compile(DockerDefaults.Seccomp());
        Assert.InRange(program.InstructionCount, 100, SeccompFilter.MaxInstructions);
        Assert.Equal(program.Bpf, Seccomp.Compile(DockerDefaults.Seccomp()).Bpf);
        // Every name this libseccomp skipped is one newer than it (none of the basics).
        Assert.DoesNotContain("read", program.SkippedSyscalls);
        Assert.DoesNotContain("clone", program.SkippedSyscalls);
        var admin = Seccomp.Compile(DockerDefaults.Seccomp(DockerDefaults.Capabilities().Append("CAP_SYS_ADMIN")));
        Assert.NotEqual(program.Bpf, admin.Bpf);
    }

    private static (long Rc, int Errno) Sys(long nr, long a1 = 0, long a2 = 0, long a3 = 0)
    {
        long rc = LibC.syscall(nr, a1, a2, a3, 0, 0, 0);
        return (rc, rc < 0 ? Errno.Last : 0);
    }

    [Fact]
    public void Installed_default_profile_gives_ENOSYS_for_clone3_and_unknown_and_EPERM_for_denied()
    {
        var program = Seccomp.Compile(DockerDefaults.Seccomp());
        var r = DedicatedThread.Run(() =>
        {
            SeccompFilter.Install(program);
            var results = new Dictionary<string, (long Rc, int Errno)>
            {
                ["clone3"] = Sys(NrClone3),
                ["999"] = Sys(999),
                ["io_uring_setup"] = Sys(NrIoUringSetup),
                ["mount"] = Sys(NrMount),
                ["unshare"] = Sys(NrUnshare, CloneNewUser),
                ["kexec_load"] = Sys(NrKexecLoad),
                ["clone newuser"] = Sys(NrClone, CloneNewUser | CloneFs),
                ["clone sighand"] = Sys(NrClone, CloneSighand),
                ["socket vsock"] = Sys(NrSocket, 40, 1, 0),
                ["getppid"] = Sys(NrGetppid),
            };
            int fd = (int)Sys(NrSocket, 1 /* AF_UNIX */, 1 /* SOCK_STREAM */, 0).Rc;
            results["socket unix"] = (fd, 0);
            if (fd >= 0) LibC.close(fd);
            // The .NET runtime keeps working on the filtered thread.
            results["managed io"] = (File.ReadAllText("/proc/thread-self/status").Contains("Seccomp:\t2") ? 1 : 0, 0);
            return results;
        });
        Assert.Equal((-1L, Errno.ENOSYS), r["clone3"]);
        Assert.Equal((-1L, Errno.ENOSYS), r["999"]);
        Assert.Equal((-1L, Errno.ENOSYS), r["io_uring_setup"]);
        Assert.Equal((-1L, Errno.EPERM), r["mount"]);
        Assert.Equal((-1L, Errno.EPERM), r["unshare"]);
        Assert.Equal((-1L, Errno.EPERM), r["kexec_load"]);
        Assert.Equal((-1L, Errno.EPERM), r["clone newuser"]);
        Assert.Equal((-1L, Errno.EINVAL), r["clone sighand"]); // passed the filter, refused by the kernel
        Assert.Equal((-1L, Errno.EPERM), r["socket vsock"]);
        Assert.True(r["socket unix"].Rc >= 0);
        Assert.True(r["getppid"].Rc > 0);
        Assert.Equal(1L, r["managed io"].Rc);
        // This thread is not filtered: unshare with an invalid flag reaches the kernel.
        Assert.Equal(Errno.EINVAL, Sys(NrUnshare, 0x1).Errno);
    }

    [Fact]
    public void With_CAP_SYS_ADMIN_namespaces_and_clone3_reach_the_kernel()
    {
        var program = Seccomp.Compile(DockerDefaults.Seccomp(DockerDefaults.Capabilities().Append("CAP_SYS_ADMIN")));
        var r = DedicatedThread.Run(() =>
        {
            SeccompFilter.Install(program);
            // clone3 with a NULL args struct: EFAULT from the kernel; clone with NEWUSER|FS: EINVAL.
            return (clone3: Sys(NrClone3, 0, 88), clone: Sys(NrClone, CloneNewUser | CloneFs), mount: Sys(NrMount));
        });
        Assert.Equal(14, r.clone3.Errno);
        Assert.Equal(Errno.EINVAL, r.clone.Errno);
        Assert.NotEqual(Errno.EPERM, r.mount.Errno); // mount(NULL, NULL, ...) fails in the kernel, not in the filter
        Assert.NotEqual(Errno.ENOSYS, r.mount.Errno);
    }
}
