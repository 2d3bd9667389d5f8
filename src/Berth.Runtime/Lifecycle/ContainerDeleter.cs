using Berth.Linux;
using Berth.Linux.Interop;
using Berth.Runtime.Hooks;

namespace Berth.Runtime.Lifecycle;

/// <summary>`delete`: make sure nothing of the container runs, remove its cgroup, run poststop, forget it.</summary>
public static unsafe class ContainerDeleter
{
    public static void Delete(Container c, bool force)
    {
        string status = c.Status;
        if (status is "running" or "paused" && !force)
            throw new RuntimeException($"cannot delete container \"{c.Id}\" that is not stopped: {status}");

        if (status != "stopped")
        {
            if (status == "paused") { TryThawAfterKill(c); }
            try { ContainerKiller.SignalInit(c, Sig.KILL); } catch (RuntimeException) { }
            WaitGone(c.Saved.Pid);
        }
        if (c.Saved.HostMountNamespace) HostMounts.DetachUnder(c.Saved.Rootfs);
        Logging.Timing.Mark("delete: init gone");

        try { if (c.Saved.CgroupPaths.Count > 0) { DestroyCgroup(c); RemoveParentsCreated(c.Saved.CgroupParentsCreated); } }
        catch (Exception e) when (!force) { throw new RuntimeException($"container \"{c.Id}\": removing its cgroup: {e.Message}"); }
        catch (Exception) { }
        Logging.Timing.Mark("delete: cgroup removed");

        if (c.Saved.HasHooks("poststop"))
            HookRunner.RunAllWarning(c.Config.Hooks?.Poststop, "poststop", c.OciState("stopped"));

        c.Store.Remove(c.Id);
    }

    /// <summary>
    /// Removing the cgroup is itself the check that nothing of the container runs: rmdir fails (EBUSY)
    /// while a process is in it. With a PID namespace of its own that is the rule (the kernel ends every
    /// process of the namespace before its init is gone), and listing each hierarchy's processes first
    /// would cost ~0.3 ms for nothing. With a shared PID namespace the init's death does not end the
    /// rest (nor does it end a process put into the cgroup from outside): those are ended, then it goes.
    /// </summary>
    private static void DestroyCgroup(Container c)
    {
        // Each saved directory is, as a rule, an empty leaf: one rmdir each, without reading
        // the host's cgroup layout (mountinfo) to reopen the cgroup first. A path elsewhere takes
        // the checked way: Reopen refuses one that is not inside a mounted hierarchy.
        bool gone = true;
        foreach (var path in c.Saved.CgroupPaths.Values)
        {
            if (!path.StartsWith("/sys/fs/cgroup/", StringComparison.Ordinal)) { gone = false; break; }
            if (LibC.rmdir(path) < 0 && Errno.Last != Errno.ENOENT) gone = false;
        }
        if (gone) return;
        try
        {
            c.Cgroup.Destroy(busyPatience: TimeSpan.Zero);
            return;
        }
        catch (Berth.Linux.Cgroups.CgroupException) { }
        KillRemaining(c);
        c.Cgroup.Destroy();
    }

    /// <summary>
    /// The parents this container's create made on the way (an engine's /berth, a containerd
    /// namespace's folder, a test's parent) go with it when they are empty: rmdir fails on a
    /// cgroup that still holds another, which keeps it. Nothing create found already there is
    /// touched, so kubelet's pod and QoS cgroups above a container stay kubelet's. (A parent made by
    /// one container and outlived by a sibling stays after both: the sibling did not make it.)
    /// </summary>
    private static void RemoveParentsCreated(List<string>? parents)
    {
        if (parents is null) return;
        for (int i = parents.Count - 1; i >= 0; i--) LibC.rmdir(parents[i]);
    }

    private static void TryThawAfterKill(Container c)
    {
        foreach (var pid in ContainerKiller.SafePids(c)) LibC.kill(pid, Sig.KILL);
        try { c.Cgroup.Thaw(); } catch (Exception) { }
    }

    private static void KillRemaining(Container c)
    {
        for (int round = 0; round < 50; round++)
        {
            var pids = ContainerKiller.SafePids(c);
            if (pids.Count == 0) return;
            foreach (var pid in pids) LibC.kill(pid, Sig.KILL);
            Thread.Sleep(round < 10 ? 2 : 20);
        }
    }

    /// <summary>Waits (pidfd, no polling loop) until the process has exited.</summary>
    public static void WaitGone(int pid)
    {
        int pidfd = LibC.pidfd_open(pid, 0);
        if (pidfd < 0) return;
        try
        {
            var pfd = new PollFd { Fd = pidfd, Events = 1 };
            int st;
            // Reap it if it is our child (run, or delete right after create in one process).
            if (LibC.waitpid(pid, &st, 1 /* WNOHANG */) == pid) return;
            while (LibC.poll(&pfd, 1, 5000) < 0 && Errno.Last == Errno.EINTR) { }
            LibC.waitpid(pid, &st, 1);
        }
        finally { LibC.close(pidfd); }
    }
}
