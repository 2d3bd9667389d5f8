using Berth.Linux.Interop;
using Berth.Oci.Runtime;

namespace Berth.Linux.Security;

/// <summary>
/// Compiles an OCI <c>linux.seccomp</c> section into a classic BPF program with libseccomp.
/// </summary>
/// <remarks>
/// Compile in the runtime's parent process, before the container exists; install with
/// <see cref="SeccompFilter.Install(SeccompProgram)"/> in the init. The init then never loads
/// libseccomp (or anything else) after pivot_root, the class of CVE-2019-14271.
/// Semantics follow runc: syscall names libseccomp does not know are skipped; rules whose action
/// equals the default action are skipped (libseccomp refuses them); when one rule compares the
/// same argument index more than once, each comparison becomes a rule of its own (an OR),
/// because libseccomp can AND only distinct arguments. A second argument-less rule for a syscall
/// that already has one is ignored with a warning (libseccomp would merge the two into a wrong
/// action); note that an argument-less rule overrides the syscall's conditional rules in
/// libseccomp, whatever their order. Unknown actions, operators,
/// architectures and flags are errors naming the field.
/// </remarks>
public static class Seccomp
{
    public const uint ActKillProcess = 0x80000000, ActKillThread = 0x00000000, ActTrap = 0x00030000,
        ActNotify = 0x7fc00000, ActErrnoBase = 0x00050000, ActTraceBase = 0x7ff00000, ActLog = 0x7ffc0000,
        ActAllow = 0x7fff0000;

    /// <summary>Errno an SCMP_ACT_ERRNO / SCMP_ACT_TRACE returns when the config gives none.</summary>
    public const uint DefaultErrno = 1; // EPERM, as runc

    /// <summary>Maximum number of syscall arguments.</summary>
    public const int MaxArgs = 6;

    /// <summary>
    /// Translates an OCI action name into a libseccomp action value. <paramref name="errnoRet"/> is
    /// used by SCMP_ACT_ERRNO (the errno) and SCMP_ACT_TRACE (the value the tracer sees), default EPERM.
    /// </summary>
    public static uint ParseAction(string? action, uint? errnoRet, string field) => action switch
    {
        "SCMP_ACT_KILL" => ActKillThread,
        "SCMP_ACT_KILL_THREAD" => ActKillThread,
        "SCMP_ACT_KILL_PROCESS" => ActKillProcess,
        "SCMP_ACT_TRAP" => ActTrap,
        "SCMP_ACT_ERRNO" => ActErrnoBase | ((errnoRet ?? DefaultErrno) & 0xffff),
        "SCMP_ACT_TRACE" => ActTraceBase | ((errnoRet ?? DefaultErrno) & 0xffff),
        "SCMP_ACT_ALLOW" => ActAllow,
        "SCMP_ACT_LOG" => ActLog,
        "SCMP_ACT_NOTIFY" => ActNotify,
        _ => throw new SecurityConfigException($"unknown seccomp action \"{action}\" in {field}"),
    };

    /// <summary>Translates an OCI operator (SCMP_CMP_*) into enum scmp_compare.</summary>
    public static int ParseOp(string? op, string field) => op switch
    {
        "SCMP_CMP_NE" => 1,
        "SCMP_CMP_LT" => 2,
        "SCMP_CMP_LE" => 3,
        "SCMP_CMP_EQ" => 4,
        "SCMP_CMP_GE" => 5,
        "SCMP_CMP_GT" => 6,
        "SCMP_CMP_MASKED_EQ" => 7,
        _ => throw new SecurityConfigException($"unknown seccomp operator \"{op}\" in {field}"),
    };

    /// <summary>Translates an OCI flag name into SECCOMP_FILTER_FLAG_*.</summary>
    public static uint ParseFlag(string? flag, string field) => flag switch
    {
        "SECCOMP_FILTER_FLAG_TSYNC" => SeccompFlags.Tsync,
        "SECCOMP_FILTER_FLAG_LOG" => SeccompFlags.Log,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => SeccompFlags.SpecAllow,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => SeccompFlags.WaitKillableRecv,
        _ => throw new SecurityConfigException($"unknown seccomp flag \"{flag}\" in {field}"),
    };

    /// <summary>
    /// Resolves an OCI architecture name ("SCMP_ARCH_X86_64") to libseccomp's token (AUDIT_ARCH_*).
    /// </summary>
    public static uint ParseArch(string? arch, string field)
    {
        const string prefix = "SCMP_ARCH_";
        uint token = 0;
        if (arch is not null && arch.StartsWith(prefix, StringComparison.Ordinal) && arch.Length > prefix.Length)
        {
            var name = arch[prefix.Length..].ToLowerInvariant();
            token = name == "native" ? LibSeccomp.seccomp_arch_native() : LibSeccomp.seccomp_arch_resolve_name(name);
        }
        if (token == 0)
            throw new SecurityConfigException($"unknown seccomp architecture \"{arch}\" in {field}");
        return token;
    }

    /// <summary>The syscall number libseccomp gives a name on the native architecture, or null if unknown.</summary>
    public static int? ResolveSyscall(string name)
    {
        int nr = LibSeccomp.seccomp_syscall_resolve_name(name);
        return nr == LibSeccomp.NrScmpError ? null : nr;
    }

    /// <summary>
    /// Compiles <paramref name="config"/> into a BPF program. Throws
    /// <see cref="SecurityConfigException"/> for a config error and <see cref="LinuxException"/>
    /// when libseccomp or the kernel refuses.
    /// </summary>
    public static unsafe SeccompProgram Compile(LinuxSeccomp config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (string.IsNullOrEmpty(config.DefaultAction))
            throw new SecurityConfigException("linux.seccomp.defaultAction is required");
        uint defaultAction = ParseAction(config.DefaultAction, config.DefaultErrnoRet, "linux.seccomp.defaultAction");
        if (defaultAction == ActNotify)
            throw new SecurityConfigException("SCMP_ACT_NOTIFY cannot be the default action in linux.seccomp.defaultAction");

        // Validate flags and rules fully before touching libseccomp, so errors come out in config order.
        uint flags = 0;
        var attrs = new List<(int Attr, string Flag)>();
        var flagFields = new List<(uint Flag, string Name, string Field)>();
        if (config.Flags is { } fl)
        {
            for (int i = 0; i < fl.Count; i++)
            {
                uint f = ParseFlag(fl[i], $"linux.seccomp.flags[{i}]");
                flagFields.Add((f, fl[i], $"linux.seccomp.flags[{i}]"));
                flags |= f;
                if (f == SeccompFlags.Log) attrs.Add((LibSeccomp.FltAtrCtlLog, fl[i]));
                if (f == SeccompFlags.SpecAllow) attrs.Add((LibSeccomp.FltAtrCtlSsb, fl[i]));
            }
        }

        var rules = new List<(int Index, string Name, uint Action, ScmpArgCmp[] Args, bool Split)>();
        bool usesNotify = false;
        if (config.Syscalls is { } calls)
        {
            for (int i = 0; i < calls.Count; i++)
            {
                var call = calls[i];
                uint action = ParseAction(call.Action, call.ErrnoRet, $"linux.seccomp.syscalls[{i}].action");
                var args = new ScmpArgCmp[call.Args?.Count ?? 0];
                var seen = new int[MaxArgs];
                bool split = false;
                for (int j = 0; j < args.Length; j++)
                {
                    var a = call.Args![j];
                    if (a.Index >= MaxArgs)
                        throw new SecurityConfigException($"seccomp argument index {a.Index} out of range 0-{MaxArgs - 1} in linux.seccomp.syscalls[{i}].args[{j}].index");
                    int op = ParseOp(a.Op, $"linux.seccomp.syscalls[{i}].args[{j}].op");
                    args[j] = new ScmpArgCmp { Arg = a.Index, Op = op, DatumA = a.Value, DatumB = a.ValueTwo };
                    if (++seen[a.Index] > 1) split = true;
                }
                if (call.Names is null || call.Names.Count == 0)
                    throw new SecurityConfigException($"linux.seccomp.syscalls[{i}].names is empty");
                if (action == defaultAction) continue; // libseccomp refuses a rule equal to the default
                foreach (var name in call.Names)
                {
                    if (string.IsNullOrEmpty(name))
                        throw new SecurityConfigException($"empty syscall name in linux.seccomp.syscalls[{i}].names");
                    if (action == ActNotify && name == "write")
                        throw new SecurityConfigException($"SCMP_ACT_NOTIFY cannot be used for \"write\" in linux.seccomp.syscalls[{i}] (the runtime itself must write)");
                    rules.Add((i, name, action, args, split));
                }
                if (action == ActNotify) usesNotify = true;
            }
        }
        if (usesNotify && string.IsNullOrEmpty(config.ListenerPath))
            throw new SecurityConfigException("linux.seccomp.listenerPath is required when a rule uses SCMP_ACT_NOTIFY");

        nint ctx = LibSeccomp.seccomp_init(defaultAction);
        if (ctx == 0) throw new LinuxException(Errno.EINVAL, $"seccomp_init({config.DefaultAction})");
        try
        {
            // The runtime sets no_new_privs itself, and only when process.noNewPrivileges asks.
            Check(LibSeccomp.seccomp_attr_set(ctx, LibSeccomp.FltAtrCtlNnp, 0), "seccomp_attr_set(SCMP_FLTATR_CTL_NNP, 0)");
            foreach (var (attr, flag) in attrs)
                Check(LibSeccomp.seccomp_attr_set(ctx, attr, 1), $"seccomp flag {flag}");

            if (config.Architectures is { } archs)
            {
                for (int i = 0; i < archs.Count; i++)
                {
                    uint token = ParseArch(archs[i], $"linux.seccomp.architectures[{i}]");
                    int rc = LibSeccomp.seccomp_arch_add(ctx, token);
                    if (rc < 0 && rc != -Errno.EEXIST) Check(rc, $"seccomp_arch_add({archs[i]})");
                }
            }

            var skipped = new List<string>();
            var warnings = new List<string>();
            var unconditional = new Dictionary<int, (uint Action, int Index)>();
            foreach (var (index, name, action, args, split) in rules)
            {
                int nr = LibSeccomp.seccomp_syscall_resolve_name(name);
                if (nr == LibSeccomp.NrScmpError)
                {
                    if (!skipped.Contains(name)) skipped.Add(name);
                    continue;
                }
                if (args.Length == 0)
                {
                    // libseccomp 2.5 merges two unconditional rules for one syscall into a wrong
                    // action (two errnos give a third); keep the first and say so.
                    if (unconditional.TryGetValue(nr, out var first))
                    {
                        if (first.Action != action)
                            warnings.Add($"linux.seccomp.syscalls[{index}]: \"{name}\" already has a rule without arguments in linux.seccomp.syscalls[{first.Index}]; this one is ignored");
                        continue;
                    }
                    unconditional[nr] = (action, index);
                }
                string what = $"linux.seccomp.syscalls[{index}]: seccomp rule for \"{name}\"";
                if (!split)
                {
                    fixed (ScmpArgCmp* p = args)
                        Check(LibSeccomp.seccomp_rule_add_array(ctx, action, nr, (uint)args.Length, args.Length == 0 ? null : p), what);
                }
                else
                {
                    for (int j = 0; j < args.Length; j++)
                    {
                        var one = args[j];
                        Check(LibSeccomp.seccomp_rule_add_array(ctx, action, nr, 1, &one), what);
                    }
                }
            }

            byte[] bpf = Export(ctx);

            if (usesNotify)
            {
                flags |= SeccompFlags.NewListener;
                if ((flags & SeccompFlags.Tsync) != 0) flags |= SeccompFlags.TsyncEsrch;
            }
            else
            {
                flags &= ~SeccompFlags.WaitKillableRecv; // meaningful (and accepted) only with a listener
            }
            foreach (var (flag, name, field) in flagFields)
                if ((flags & flag) != 0 && !SeccompFilter.IsFlagSupported(flag))
                    throw new SecurityConfigException($"seccomp flag \"{name}\" in {field} is not supported by this kernel");
            return new SeccompProgram { Bpf = bpf, Flags = flags, UsesNotify = usesNotify, SkippedSyscalls = skipped, Warnings = warnings };
        }
        finally
        {
            LibSeccomp.seccomp_release(ctx);
        }
    }

    private static unsafe byte[] Export(nint ctx)
    {
        int fd = Errno.Check(LibC.memfd_create("berth-seccomp-bpf", 1 /* MFD_CLOEXEC */), "memfd_create");
        try
        {
            Check(LibSeccomp.seccomp_export_bpf(ctx, fd), "seccomp_export_bpf");
            long size = Errno.Check(LibC.lseek(fd, 0, 2 /* SEEK_END */), "lseek(memfd)");
            Errno.Check(LibC.lseek(fd, 0, 0 /* SEEK_SET */), "lseek(memfd)");
            var bpf = new byte[size];
            int done = 0;
            fixed (byte* p = bpf)
            {
                while (done < bpf.Length)
                {
                    long n = LibC.read(fd, p + done, (nuint)(bpf.Length - done));
                    if (n < 0)
                    {
                        if (Errno.Last == Errno.EINTR) continue;
                        throw new LinuxException(Errno.Last, "read(memfd)");
                    }
                    if (n == 0) break;
                    done += (int)n;
                }
            }
            if (done != bpf.Length || bpf.Length == 0 || bpf.Length % 8 != 0)
                throw new LinuxException(Errno.EIO, $"seccomp_export_bpf produced {done} bytes");
            return bpf;
        }
        finally
        {
            LibC.close(fd);
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc < 0) throw new LinuxException(-rc, what);
    }
}
