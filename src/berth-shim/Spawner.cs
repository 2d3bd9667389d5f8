using System.Runtime.InteropServices;
using System.Text;
using Berth.Linux;
using Berth.Linux.Interop;

namespace Berth.Shim;

/// <summary>
/// Starts a program with given stdio through posix_spawn (glibc's is a vfork-style clone that runs
/// no managed code in the child). Every signal is reset to its default and unblocked in the
/// child, and it gets the shim's own environment. Descriptors other than 0-2 do not leak: the
/// shim opens all of its own close-on-exec.
/// </summary>
internal static unsafe class Spawner
{
    private const short SETSIGDEF = 0x04, SETSIGMASK = 0x08;
    private static byte[][]? _env;

    public static int Spawn(string path, IReadOnlyList<string> args, int stdin, int stdout, int stderr)
    {
        _env ??= Environ();
        var argv = new List<byte[]>(args.Count + 1) { Z(path) };
        foreach (var a in args) argv.Add(Z(a));
        var handles = new List<GCHandle>();
        byte** av = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(byte*));
        byte** ev = (byte**)NativeMemory.AllocZeroed((nuint)(_env.Length + 1), (nuint)sizeof(byte*));
        void* fa = NativeMemory.AllocZeroed(256), attr = NativeMemory.AllocZeroed(512);
        void* all = NativeMemory.AllocZeroed(128), none = NativeMemory.AllocZeroed(128);
        try
        {
            for (int i = 0; i < argv.Count; i++) { var h = GCHandle.Alloc(argv[i], GCHandleType.Pinned); handles.Add(h); av[i] = (byte*)h.AddrOfPinnedObject(); }
            for (int i = 0; i < _env.Length; i++) { var h = GCHandle.Alloc(_env[i], GCHandleType.Pinned); handles.Add(h); ev[i] = (byte*)h.AddrOfPinnedObject(); }
            Native.posix_spawn_file_actions_init(fa);
            Native.posix_spawn_file_actions_adddup2(fa, stdin, 0);
            Native.posix_spawn_file_actions_adddup2(fa, stdout, 1);
            Native.posix_spawn_file_actions_adddup2(fa, stderr, 2);
            Native.posix_spawnattr_init(attr);
            Native.sigfillset(all);
            Native.sigemptyset(none);
            Native.posix_spawnattr_setsigdefault(attr, all);
            Native.posix_spawnattr_setsigmask(attr, none);
            Native.posix_spawnattr_setflags(attr, SETSIGDEF | SETSIGMASK);
            int pid;
            int rc = Native.posix_spawn(&pid, av[0], fa, attr, av, ev);
            Native.posix_spawn_file_actions_destroy(fa);
            Native.posix_spawnattr_destroy(attr);
            if (rc != 0) throw new LinuxException(rc, $"spawn {path}");
            return pid;
        }
        finally
        {
            foreach (var h in handles) h.Free();
            NativeMemory.Free(av); NativeMemory.Free(ev); NativeMemory.Free(fa); NativeMemory.Free(attr); NativeMemory.Free(all); NativeMemory.Free(none);
        }
    }

    private static byte[] Z(string s)
    {
        var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, b);
        return b;
    }

    private static byte[][] Environ()
    {
        var raw = Native.ReadFile("/proc/self/environ") ?? [];
        var list = new List<byte[]>();
        int start = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] != 0) continue;
            if (i > start) list.Add(raw.AsSpan(start, i - start + 1).ToArray());
            start = i + 1;
        }
        return list.ToArray();
    }

    /// <summary>A pipe, both ends close-on-exec (posix_spawn's dup2 clears the flag on the child's copy).</summary>
    public static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        Errno.Check(LibC.pipe2(fds, O.CLOEXEC), "pipe2");
        return (fds[0], fds[1]);
    }
}
