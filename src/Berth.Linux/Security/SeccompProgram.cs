namespace Berth.Linux.Security;

/// <summary>
/// A compiled seccomp filter: the classic BPF program (an array of 8-byte struct sock_filter)
/// and the seccomp(2) flags to install it with. Plain bytes, so the runtime can compile in its
/// parent process and hand the program to the container's init (over the sync pipe, or by
/// keeping it in memory across the C stage) without the init ever loading libseccomp.
/// </summary>
public sealed class SeccompProgram
{
    /// <summary>struct sock_filter[], 8 bytes per instruction, native byte order.</summary>
    public required byte[] Bpf { get; init; }

    /// <summary>
    /// SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER): the config's flags, plus
    /// NEW_LISTENER when a rule uses SCMP_ACT_NOTIFY (and TSYNC_ESRCH when that meets TSYNC).
    /// </summary>
    public uint Flags { get; init; }

    /// <summary>True when some rule returns SCMP_ACT_NOTIFY: installing yields a listener fd.</summary>
    public bool UsesNotify { get; init; }

    /// <summary>Syscall names libseccomp does not know; their rules were left out, as runc does.</summary>
    public IReadOnlyList<string> SkippedSyscalls { get; init; } = Array.Empty<string>();

    /// <summary>Rules left out because they contradict an earlier one (one line each, naming the field).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>Number of BPF instructions.</summary>
    public int InstructionCount => Bpf.Length / 8;
}

/// <summary>SECCOMP_FILTER_FLAG_* (linux/seccomp.h).</summary>
public static class SeccompFlags
{
    public const uint Tsync = 1, Log = 2, SpecAllow = 4, NewListener = 8, TsyncEsrch = 16, WaitKillableRecv = 32;
}
