using System.Runtime.InteropServices;
using Berth.Linux;
using Berth.Linux.Interop;

namespace Berth.Runtime.Native;

/// <summary>
/// The C# face of native/berth_spawn.c: clone a child into new or joined namespaces that
/// execs the runtime binary (as `berth-runtime init`) once the parent says go.
/// The struct layout here must match struct berth_spawn_request in the C file.
/// </summary>
internal static unsafe partial class NativeSpawn
{
    public const int MaxJoin = 8;
    public const int MaxCgroupTasks = 16;

    [StructLayout(LayoutKind.Sequential)]
    public struct Request
    {
        public int CloneFlags;
        public int JoinCount;
        public fixed int JoinFds[MaxJoin];
        public fixed int JoinTypes[MaxJoin];
        public int ExeFd;
        public int SyncFd;
        public int BecomeRoot;
        public int NewSession;
        public int PdeathSignal;
        public int Pad;
        public int CgroupTaskCount;
        /// <summary>A cgroup2 directory (O_PATH) the child is cloned into, or -1.</summary>
        public int Cgroup2Fd;
        /// <summary>Set by the C stage: 1 when the child was born in <see cref="Cgroup2Fd"/>'s cgroup.</summary>
        public int Cgroup2Joined;
        public int Pad2;
        /// <summary>v1 `tasks` files (O_WRONLY) the child writes "0" into before it execs.</summary>
        public fixed int CgroupTaskFds[MaxCgroupTasks];
        public byte** Argv;
        public byte** Envp;
        public byte* TimensOffsets;
        public byte* RoSelfPath;
    }

    [LibraryImport("berthspawn", EntryPoint = "berth_spawn", SetLastError = true)]
    private static partial int berth_spawn(Request* req, int* errRead, byte* what, int whatLen);

    [LibraryImport("berthspawn", EntryPoint = "berth_spawn_wait_exec", SetLastError = true)]
    private static partial int berth_spawn_wait_exec(int errRead, byte* what, int whatLen);

    /// <summary>Clones the child. Returns its pid and the error-pipe fd for <see cref="WaitExec"/>.</summary>
    public static int Spawn(ref Request req, out int errRead)
    {
        byte* what = stackalloc byte[256];
        what[0] = 0;
        int er;
        int pid;
        fixed (Request* r = &req) pid = berth_spawn(r, &er, what, 256);
        if (pid < 0) throw new LinuxException(Marshal.GetLastPInvokeError(), Text(what, "clone"));
        errRead = er;
        return pid;
    }

    /// <summary>
    /// Waits until the child has exec'd the runtime binary, or throws what failed in it.
    /// <paramref name="cgroupTaskFile"/> names the file a failed "cgroup N" step wrote to.
    /// </summary>
    public static void WaitExec(int errRead, Func<int, string>? cgroupTaskFile = null)
    {
        byte* what = stackalloc byte[256];
        what[0] = 0;
        if (berth_spawn_wait_exec(errRead, what, 256) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string step = Text(what, "starting the container process");
            if (step.StartsWith("cgroup ", StringComparison.Ordinal) && int.TryParse(step.AsSpan(7), out int i) && cgroupTaskFile is not null)
                step = $"joining the container's cgroup ({cgroupTaskFile(i)})";
            throw new LinuxException(errno, step);
        }
    }

    private static string Text(byte* s, string fallback)
    {
        string t = Marshal.PtrToStringUTF8((nint)s) ?? "";
        return t.Length == 0 ? fallback : t;
    }
}

/// <summary>A NULL-terminated array of C strings in unmanaged memory (argv/envp for exec).</summary>
public sealed unsafe class NativeStringArray : IDisposable
{
    public byte** Pointer { get; }
    private readonly int _count;

    public NativeStringArray(IReadOnlyList<string> items)
    {
        _count = items.Count;
        Pointer = (byte**)NativeMemory.AllocZeroed((nuint)(items.Count + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < items.Count; i++)
        {
            var bytes = LibC.Utf8(items[i]);
            var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length);
            bytes.AsSpan().CopyTo(new Span<byte>(p, bytes.Length));
            Pointer[i] = p;
        }
    }

    public void Dispose()
    {
        for (int i = 0; i < _count; i++) NativeMemory.Free(Pointer[i]);
        NativeMemory.Free(Pointer);
    }
}
