using Berth.Linux;
using Berth.Linux.Interop;
using Berth.Linux.Security;
using Berth.Oci.Runtime;
using Berth.Runtime.Native;
using OciProcess = Berth.Oci.Runtime.Process;

namespace Berth.Runtime.Init;

/// <summary>
/// The last steps before the user's program: identity, capabilities, seccomp, descriptors,
/// execve. Capabilities and seccomp are per thread, so all of it runs as one synchronous
/// sequence on the thread that calls execve.
/// </summary>
internal sealed unsafe class ProcessLauncher
{
    private readonly OciProcess _process;
    private readonly CapabilitySet _caps;
    private readonly byte[]? _seccomp;
    private readonly uint _seccompFlags;
    private readonly int _preserveFds;
    private List<string> _env;
    private string? _executable;
    private bool _keepSysAdmin;

    public ProcessLauncher(OciProcess process, byte[]? seccompBpf, uint seccompFlags, int preserveFds)
    {
        _process = process;
        _caps = CapabilitySet.FromSpec(process.Capabilities);
        _seccomp = seccompBpf;
        _seccompFlags = seccompFlags;
        _preserveFds = preserveFds;
        _env = process.Env ?? new List<string>();
    }

    /// <summary>Binds libc entry points before the container's root is entered (nothing is loaded from it later).</summary>
    public static void BindNative()
    {
        CapabilitySet.Bind();
        SeccompFilter.Bind();
    }

    /// <summary>Resource limits, apparmor, and the program's path: checked while errors can still reach the caller.</summary>
    public void Prepare()
    {
        foreach (var rl in _process.Rlimits ?? new List<Rlimit>())
        {
            int resource = Array.IndexOf(Bundle.SpecValidator.RlimitNames, rl.Type);
            var lim = new RLimit { Cur = rl.Soft, Max = rl.Hard };
            if (LibC.setrlimit(resource, &lim) < 0)
                throw new LinuxException(Errno.Last, $"setrlimit {rl.Type} soft={rl.Soft} hard={rl.Hard}");
        }
        if (!_env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal)))
            _env = new List<string>(_env) { "HOME=" + HomeOf(_process.User?.Uid ?? 0) };
        string program = _process.Args![0];
        _executable = ExecutableLookup.Resolve(program, _env);
    }

    public void ApplyAppArmor()
    {
        if (string.IsNullOrEmpty(_process.ApparmorProfile)) return;
        // A profile that was asked for and cannot be applied is an error, never silently dropped.
        const string enabled = "/sys/module/apparmor/parameters/enabled";
        if (!File.Exists(enabled) || File.ReadAllText(enabled).Trim() != "Y")
            throw new RuntimeException($"process.apparmorProfile \"{_process.ApparmorProfile}\": AppArmor is not enabled on this host");
        string attr = Directory.Exists("/proc/self/attr/apparmor") ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec";
        Linux.Io.FdIo.WriteFile(attr, "exec " + _process.ApparmorProfile);
    }

    /// <summary>
    /// Identity, capabilities, working directory and descriptors: done before the init reports
    /// "created", as runc does, so that a uid, capability or cwd the kernel refuses fails
    /// `create` (whose caller hears it) instead of dying silently after `start`.
    /// </summary>
    /// <remarks>
    /// The seccomp filter is left for <see cref="Exec"/>, just before execve, whatever
    /// no_new_privs says: a profile written for the program (runtime-tools' and Docker's allow no
    /// close_range, for one) must not have to allow the runtime's own calls. Without
    /// no_new_privs, installing it needs CAP_SYS_ADMIN, so when the program's sets lack it the
    /// thread keeps it until after the filter and drops it with one capset (the profile must
    /// allow capset and execve, as runc's needs capset, setresuid, fcntl, ... after its filter).
    /// </remarks>
    public void DropPrivileges()
    {
        if (_process.NoNewPrivileges)
            Errno.Check(LibC.prctl(PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");
        _keepSysAdmin = _seccomp is { Length: > 0 } && !_process.NoNewPrivileges && (_caps.Effective & SysAdmin) == 0;

        _caps.DropBounding();
        CapabilitySet.SetKeepCaps(true);
        SwitchUser(_process.User);
        CapabilitySet.SetKeepCaps(false);
        (_keepSysAdmin ? WithSysAdmin(_caps) : _caps).ApplyProcessSets();

        string cwd = _process.Cwd ?? "/";
        Errno.Check(LibC.chdir(cwd), $"process.cwd {cwd}");
        EnsureCwdInsideRoot();

        // No descriptor of ours reaches the program: everything past stdio and the preserved
        // ones closes on exec (CVE-2024-21626 class).
        Errno.Check(LibC.close_range((uint)(3 + _preserveFds), uint.MaxValue, 4 /* CLOSE_RANGE_CLOEXEC */), "close_range");
    }

    /// <summary>Never returns: seccomp, then becomes the user's program, or throws.</summary>
    public void Exec()
    {
        using var argv = new NativeStringArray(_process.Args!);
        using var envp = new NativeStringArray(_env);
        byte[] path = LibC.Utf8(_executable!);
        if (_seccomp is { Length: > 0 })
        {
            SeccompFilter.Install(_seccomp, _seccompFlags);
            if (_keepSysAdmin) _caps.ApplyProcessSets();
        }
        fixed (byte* p = path)
            LibC.execve(p, argv.Pointer, envp.Pointer);
        throw new LinuxException(Errno.Last, $"exec {_executable}");
    }

    private const ulong SysAdmin = 1UL << 21; // CAP_SYS_ADMIN

    private static CapabilitySet WithSysAdmin(CapabilitySet c) => new()
    {
        Bounding = c.Bounding,
        Effective = c.Effective | SysAdmin,
        Permitted = c.Permitted | SysAdmin,
        Inheritable = c.Inheritable,
        Ambient = c.Ambient,
    };

    /// <summary>The thread's identity (raw syscalls: see LibC.setresuid_thread; this thread is the one that execs).</summary>
    private static void SwitchUser(User? user)
    {
        uint uid = user?.Uid ?? 0, gid = user?.Gid ?? 0;
        var groups = user?.AdditionalGids ?? new List<uint>();
        bool setgroupsAllowed = !File.Exists("/proc/self/setgroups") || Linux.Io.FdIo.ReadText("/proc/self/setgroups").Trim() != "deny";
        if (setgroupsAllowed)
        {
            var arr = groups.ToArray();
            fixed (uint* g = arr)
                Errno.Check(LibC.setgroups_thread((nuint)arr.Length, g), "process.user.additionalGids: setgroups");
        }
        Errno.Check(LibC.setresgid_thread(gid, gid, gid), $"process.user.gid {gid}: setresgid");
        Errno.Check(LibC.setresuid_thread(uid, uid, uid), $"process.user.uid {uid}: setresuid");
    }

    private static void EnsureCwdInsideRoot()
    {
        // A cwd outside the root (e.g. reached through a leaked fd) reads back unreachable.
        string? cwd = Directory.GetCurrentDirectory();
        if (cwd is null || !cwd.StartsWith('/'))
            throw new RuntimeException("the working directory is outside the container's root");
    }

    private static string HomeOf(uint uid)
    {
        try
        {
            foreach (var line in Linux.Io.FdIo.ReadLines("/etc/passwd"))
            {
                var f = line.Split(':');
                if (f.Length >= 6 && uint.TryParse(f[2], out var u) && u == uid) return f[5];
            }
        }
        catch (IOException) { }
        return "/";
    }
}
