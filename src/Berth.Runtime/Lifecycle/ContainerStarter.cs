using Berth.Linux;
using Berth.Linux.Interop;
using Berth.Runtime.Hooks;

namespace Berth.Runtime.Lifecycle;

/// <summary>`start`: open the exec fifo, which releases the waiting init into the user's program.</summary>
public static unsafe class ContainerStarter
{
    public static void Start(Container c)
    {
        string status = c.Status;
        if (status != "created")
            throw new RuntimeException(status switch
            {
                "running" or "paused" => $"cannot start container \"{c.Id}\": it is already {status}",
                "stopped" => $"cannot start container \"{c.Id}\": it is stopped",
                _ => $"cannot start container \"{c.Id}\": it is {status}",
            });
        if (!c.Saved.HasProcess)
        {
            // Created without a process (allowed), it can never run: end it, as a failed start does.
            LibC.kill(c.Saved.Pid, Sig.KILL);
            throw new RuntimeException($"cannot start container \"{c.Id}\": process is not set in config.json");
        }
        string fifo = c.Store.FifoPath(c.Id);
        int fd = LibC.open(fifo, O.RDONLY | O.NONBLOCK | O.CLOEXEC, 0);
        if (fd < 0) throw new LinuxException(Errno.Last, $"open {fifo}");
        try
        {
            // The init is blocked opening the fifo for writing; it now writes one byte, and
            // keeps the fifo open (close-on-exec) until it becomes the user's program.
            if (!WaitReadable(c, fd)) throw new RuntimeException($"container \"{c.Id}\": its init exited before start");
            byte b;
            if (LibC.read(fd, &b, 1) != 1) throw new RuntimeException($"container \"{c.Id}\": its init did not answer on exec.fifo");
            // EOF: the user's program runs (or the init failed, and said why on the container's
            // stderr). Returning only then means that after `start` the container's pid is the
            // program (docker inspect's Pid, /proc/PID/comm), and poststart hooks run after it.
            // (Returning at once, as runc does, saved ~0.4 ms of the cycle, but an engine that
            // reads the process right after start found the runtime there; a test caught it.)
            while (WaitReadable(c, fd) && LibC.read(fd, &b, 1) > 0) { }
        }
        finally { LibC.close(fd); }
        // A program that ends at once may be reaped and its container deleted (by a shim) before
        // we get here: the state folder is then gone, and so is everything left to do.
        try { File.Delete(fifo); }
        catch (DirectoryNotFoundException) { return; }
        if (!Directory.Exists(c.Store.Dir(c.Id))) return;

        // The spec: a failing poststart hook is a warning; the lifecycle goes on.
        if (c.Saved.HasHooks("poststart"))
        {
            Berth.Oci.Runtime.Spec config;
            try { config = c.Config; }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return; } // deleted meanwhile
            HookRunner.RunAllWarning(config.Hooks?.Poststart, "poststart", c.OciState("running"));
        }
    }

    /// <summary>Polls the fifo until it has data or EOF; false if the init died with no writer ever seen.</summary>
    private static bool WaitReadable(Container c, int fd)
    {
        var pfd = new PollFd { Fd = fd, Events = 1 /* POLLIN */ };
        while (true)
        {
            int n = LibC.poll(&pfd, 1, 100);
            if (n < 0 && Errno.Last == Errno.EINTR) continue;
            if (n < 0) throw new LinuxException(Errno.Last, "poll exec.fifo");
            if (n > 0 && (pfd.Revents & (1 | 0x10 /* POLLIN | POLLHUP */)) != 0) return true;
            if (!State.StateStore.InitAlive(c.Saved)) return false;
        }
    }
}
