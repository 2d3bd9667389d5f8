using Berth.Linux.Interop;

namespace Berth.Shim;

/// <summary>
/// The one place that calls waitpid. The shim is a subreaper: the container's init and every
/// exec'd process are reparented to it when the runtime that started them exits, and the
/// runtime processes are its children too. The main thread runs <see cref="RunUntil"/>; others
/// register the pids they care about. An exit that nobody has claimed yet is kept, so a process
/// that ends before its spawner registers is not lost.
/// </summary>
internal static unsafe class Reaper
{
    private static readonly object Lock = new();
    private static readonly Dictionary<int, int> Unclaimed = new();
    private static readonly Dictionary<int, Action<int>> Watchers = new();

    /// <summary>Exit status as docker reports it: the code, or 128 + the signal.</summary>
    public static int Code(int status) => (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);

    /// <summary>Calls <paramref name="onExit"/> (on the reaping thread: keep it short) with the exit code of <paramref name="pid"/>.</summary>
    public static void Watch(int pid, Action<int> onExit)
    {
        int code;
        lock (Lock)
        {
            if (!Unclaimed.Remove(pid, out code)) { Watchers[pid] = onExit; return; }
        }
        onExit(code);
    }

    /// <summary>Blocks until <paramref name="pid"/> has exited; its exit code.</summary>
    public static int WaitFor(int pid)
    {
        var box = new ExitBox();
        Watch(pid, box.Set);
        return box.Wait(Timeout.Infinite)!.Value;
    }

    /// <summary>Reaps children until <paramref name="pid"/> exits; returns its exit code.</summary>
    public static int RunUntil(int pid)
    {
        int status;
        while (true)
        {
            int rc = LibC.waitpid(-1, &status, 0);
            if (rc < 0)
            {
                int e = Errno.Last;
                if (e == Errno.EINTR) continue;
                // No child at all: the process is not ours (should not happen). Wait for it to vanish.
                if (LibC.kill(pid, 0) != 0) return 255;
                Thread.Sleep(100);
                continue;
            }
            int code = Code(status);
            if (rc == pid) return code;
            Dispatch(rc, code);
        }
    }

    /// <summary>Reaps one specific child directly (only while no <see cref="RunUntil"/> loop runs).</summary>
    public static int WaitDirect(int pid)
    {
        int status;
        while (true)
        {
            int rc = LibC.waitpid(pid, &status, 0);
            if (rc == pid) return Code(status);
            if (rc < 0 && Errno.Last != Errno.EINTR) return 255;
        }
    }

    private static void Dispatch(int pid, int code)
    {
        Action<int>? w;
        lock (Lock)
        {
            if (!Watchers.Remove(pid, out w))
            {
                // a process nobody has asked about yet, or never will (an intermediate of the runtime)
                if (Unclaimed.Count > 256) Unclaimed.Clear();
                Unclaimed[pid] = code;
                return;
            }
        }
        w(code);
    }
}

/// <summary>A value set once by one thread and awaited by others.</summary>
internal sealed class ExitBox
{
    private int? _code;

    public void Set(int code)
    {
        lock (this) { _code ??= code; Monitor.PulseAll(this); }
    }

    public int? Value { get { lock (this) return _code; } }

    /// <summary>The value, or null after <paramref name="timeoutMs"/>.</summary>
    public int? Wait(int timeoutMs)
    {
        lock (this)
        {
            long until = Environment.TickCount64 + timeoutMs;
            while (_code is null)
            {
                int left = timeoutMs == Timeout.Infinite ? Timeout.Infinite : (int)Math.Max(0, until - Environment.TickCount64);
                if (left == 0 || !Monitor.Wait(this, left) && timeoutMs != Timeout.Infinite) break;
            }
            return _code;
        }
    }
}
