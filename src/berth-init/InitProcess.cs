using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Init;

/// <summary>
/// The init proper. Signals arrive through .NET's PosixSignalRegistration, whose native handler
/// catches them on whatever thread the kernel picks (a PID 1 must have a handler: the kernel drops
/// a signal whose action is the default for a namespace's init), and each one is forwarded to the
/// command. The main thread blocks in waitpid(-1) and so reaps every process that ends, orphans
/// included, until the command itself has ended. The command is started with posix_spawn (no fork
/// from managed code), with the default action for every signal and an empty mask (the .NET
/// runtime ignores SIGPIPE; that must not leak).
/// </summary>
internal static unsafe class InitProcess
{
    // tini's choice: the synchronous fault signals are the init's own, everything else is forwarded.
    private static readonly int[] NotForwarded = [4 /*ILL*/, 5 /*TRAP*/, 6 /*ABRT*/, 7 /*BUS*/, 8 /*FPE*/, 9 /*KILL*/, 11 /*SEGV*/, 17 /*CHLD*/, 19 /*STOP*/, 31 /*SYS*/];

    private static volatile int _child = -1;
    private static volatile bool _childDone;

    public static int Run(string[] argv)
    {
        if (Native.getpid() != 1) Native.prctl(Native.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        var registrations = new List<PosixSignalRegistration>();
        for (int sig = 1; sig <= 31; sig++)
        {
            if (Array.IndexOf(NotForwarded, sig) >= 0) continue;
            int s = sig;
            try { registrations.Add(PosixSignalRegistration.Create((PosixSignal)s, ctx => { ctx.Cancel = true; Forward(s); })); }
            catch (Exception) { /* a signal the runtime keeps for itself */ }
        }

        int pid = Spawn(argv, out int err);
        if (pid < 0)
        {
            Console.Error.WriteLine($"berth-init: exec {argv[0]} failed: {Native.Error(err)}");
            return err == 2 /*ENOENT*/ ? 127 : 126;
        }
        _child = pid;
        int status;
        while (true)
        {
            int r = Native.waitpid(-1, out status, 0);
            if (r == pid) break;
            if (r < 0 && Marshal.GetLastPInvokeError() != 4 /*EINTR*/) { status = 255 << 8; break; }
        }
        _childDone = true;
        GC.KeepAlive(registrations);
        int termsig = status & 0x7f;
        return termsig == 0 ? (status >> 8) & 0xff : 128 + termsig;
    }

    private static void Forward(int sig)
    {
        int child = _child;
        if (child > 0 && !_childDone) Native.kill(child, sig);
    }

    private static int Spawn(string[] argv, out int err)
    {
        var env = Environ();
        var strings = new List<nint>();
        nint Str(string s)
        {
            var b = Encoding.UTF8.GetBytes(s + "\0");
            nint p = Marshal.AllocHGlobal(b.Length);
            Marshal.Copy(b, 0, p, b.Length);
            strings.Add(p);
            return p;
        }
        byte** av = (byte**)Marshal.AllocHGlobal((argv.Length + 1) * sizeof(nint));
        for (int i = 0; i < argv.Length; i++) av[i] = (byte*)Str(argv[i]);
        av[argv.Length] = null;
        byte** ev = (byte**)Marshal.AllocHGlobal((env.Count + 1) * sizeof(nint));
        for (int i = 0; i < env.Count; i++) ev[i] = (byte*)Str(env[i]);
        ev[env.Count] = null;
        // glibc: posix_spawnattr_t is 336 bytes, sigset_t 128; generous buffers.
        byte* attr = stackalloc byte[1024];
        byte* all = stackalloc byte[256];
        byte* none = stackalloc byte[256];
        Native.posix_spawnattr_init(attr);
        Native.sigfillset(all);
        Native.sigdelset(all, 9);
        Native.sigdelset(all, 19);
        Native.sigemptyset(none);
        Native.posix_spawnattr_setsigdefault(attr, all);
        Native.posix_spawnattr_setsigmask(attr, none);
        Native.posix_spawnattr_setflags(attr, Native.POSIX_SPAWN_SETSIGDEF | Native.POSIX_SPAWN_SETSIGMASK);
        // posix_spawnp searches PATH of this process's environment, which is the container's.
        int rc = Native.posix_spawnp(out int pid, av[0], null, attr, av, ev);
        err = rc;
        return rc == 0 ? pid : -1;
    }

    /// <summary>The environment in its original order (docker's order reaches the command).</summary>
    private static List<string> Environ()
    {
        try
        {
            var raw = File.ReadAllBytes("/proc/self/environ");
            return Encoding.UTF8.GetString(raw).Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
        }
        catch (IOException)
        {
            var list = new List<string>();
            foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables()) list.Add($"{e.Key}={e.Value}");
            return list;
        }
    }
}
