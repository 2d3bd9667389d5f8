using Berth.Linux.Interop;

namespace Berth.Linux.Security;

/// <summary>
/// Installs a compiled BPF program with the seccomp(2) syscall. Uses only libc's syscall(2)
/// entry point, never libseccomp, so the container's init can call it after pivot_root.
/// </summary>
/// <remarks>
/// Without SECCOMP_FILTER_FLAG_TSYNC a filter applies to the calling thread only (and to threads
/// and processes it creates afterwards). The kernel installs a filter only when the thread has
/// no_new_privs set or CAP_SYS_ADMIN in its user namespace: runc installs early (before dropping
/// capabilities) when noNewPrivileges is false, and last, right before execve, when it is true.
/// </remarks>
public static class SeccompFilter
{
    public const uint SetModeFilter = 1, GetActionAvail = 2;
    private const int EFAULT = 14;

    /// <summary>BPF_MAXINSNS: the kernel's limit on one classic BPF program.</summary>
    public const int MaxInstructions = 4096;

    /// <summary>
    /// Resolves the libc entry point Install uses; call it before pivot_root so nothing is
    /// looked up from inside the container's root.
    /// </summary>
    public static unsafe void Bind()
    {
        uint action = Seccomp.ActAllow;
        _ = LibC.seccomp(GetActionAvail, 0, &action);
    }

    /// <summary>Installs <paramref name="program"/> with its flags; returns the listener fd when it uses SCMP_ACT_NOTIFY, else -1.</summary>
    public static int Install(SeccompProgram program) => Install(program.Bpf, program.Flags);

    /// <summary>
    /// Installs the BPF program (struct sock_filter[]) on the calling thread with
    /// seccomp(SECCOMP_SET_MODE_FILTER, <paramref name="flags"/>). With
    /// <see cref="SeccompFlags.NewListener"/> returns the notification listener fd (close-on-exec;
    /// the runtime sends it to linux.seccomp.listenerPath), otherwise -1.
    /// </summary>
    public static unsafe int Install(byte[] bpf, uint flags)
    {
        ArgumentNullException.ThrowIfNull(bpf);
        if (bpf.Length == 0 || bpf.Length % 8 != 0)
            throw new ArgumentException($"a BPF program is a non-empty array of 8-byte instructions, not {bpf.Length} bytes", nameof(bpf));
        if (bpf.Length / 8 > MaxInstructions)
            throw new ArgumentException($"the BPF program has {bpf.Length / 8} instructions; the kernel accepts at most {MaxInstructions}", nameof(bpf));
        int rc;
        fixed (byte* p = bpf)
        {
            var prog = new SockFprog { Len = (ushort)(bpf.Length / 8), Filter = p };
            rc = LibC.seccomp(SetModeFilter, flags, &prog);
        }
        if (rc < 0) throw new LinuxException(Errno.Last, $"seccomp(SECCOMP_SET_MODE_FILTER, flags 0x{flags:x})");
        if ((flags & SeccompFlags.NewListener) != 0) return rc;
        if (rc > 0) // TSYNC without TSYNC_ESRCH: rc names the thread that could not be synchronised
            throw new LinuxException(Errno.ESRCH, $"seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): thread {rc} could not be synchronised");
        return -1;
    }

    /// <summary>
    /// Whether the running kernel accepts a SECCOMP_FILTER_FLAG_* value: probe with a NULL program,
    /// which fails with EFAULT after the flags were accepted and EINVAL when they were not.
    /// </summary>
    public static unsafe bool IsFlagSupported(uint flag)
    {
        uint probe = flag;
        if ((flag & SeccompFlags.WaitKillableRecv) != 0) probe |= SeccompFlags.NewListener;
        if ((flag & SeccompFlags.NewListener) != 0 && (flag & SeccompFlags.Tsync) != 0) probe |= SeccompFlags.TsyncEsrch;
        int rc = LibC.seccomp(SetModeFilter, probe, null);
        return rc < 0 && Errno.Last == EFAULT;
    }

    /// <summary>Whether the kernel knows a return action (SECCOMP_GET_ACTION_AVAIL), e.g. <see cref="Seccomp.ActKillProcess"/>.</summary>
    public static unsafe bool IsActionAvailable(uint action)
    {
        uint a = action & 0xffff0000; // the action without its data
        return LibC.seccomp(GetActionAvail, 0, &a) == 0;
    }
}
