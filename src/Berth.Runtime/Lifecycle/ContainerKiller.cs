using Berth.Linux;
using Berth.Linux.Interop;

namespace Berth.Runtime.Lifecycle;

/// <summary>`kill`: a signal to the init (through a pidfd, so a reused pid is never hit), or to every process.</summary>
public static class ContainerKiller
{
    public static void Kill(Container c, int signal, bool all)
    {
        string status = c.Status;
        if (status == "stopped" && !all) throw new RuntimeException($"container \"{c.Id}\" is not running");
        if (all)
        {
            bool paused = status == "paused";
            foreach (var pid in SafePids(c)) LibC.kill(pid, signal);
            // A frozen process only acts on SIGKILL once thawed.
            if (paused && signal == Sig.KILL) c.Cgroup.Thaw();
            return;
        }
        SignalInit(c, signal);
    }

    public static void SignalInit(Container c, int signal)
    {
        int pidfd = LibC.pidfd_open(c.Saved.Pid, 0);
        if (pidfd < 0)
        {
            if (Errno.Last == Errno.ESRCH) throw new RuntimeException($"container \"{c.Id}\" is not running");
            throw new LinuxException(Errno.Last, "pidfd_open");
        }
        try
        {
            // Check after pinning the pid: the process the fd refers to is still our init.
            if (!State.StateStore.InitAlive(c.Saved)) throw new RuntimeException($"container \"{c.Id}\" is not running");
            if (LibC.pidfd_send_signal(pidfd, signal) < 0)
            {
                if (Errno.Last == Errno.ESRCH) throw new RuntimeException($"container \"{c.Id}\" is not running");
                throw new LinuxException(Errno.Last, $"signal {signal} to container \"{c.Id}\"");
            }
        }
        finally { LibC.close(pidfd); }
    }

    public static IReadOnlyList<int> SafePids(Container c)
    {
        try { return c.Cgroup.Pids(); }
        catch (Exception) { return Array.Empty<int>(); }
    }
}
