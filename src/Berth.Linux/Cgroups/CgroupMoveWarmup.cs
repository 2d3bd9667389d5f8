using Berth.Linux.Io;

namespace Berth.Linux.Cgroups;

/// <summary>
/// Starts the kernel's wait for a cgroup move before there is a process to move. Every write
/// to cgroup.procs takes the global threadgroup rwsem for writing; the first writer after a
/// quiet spell waits a whole RCU grace period (10-17 ms here) for the readers' fast path to
/// switch off, and writers during the grace period after it do not wait. berthd kicks this
/// (a move of itself to where it already is: nothing changes) when a container create or start
/// arrives, so the wait overlaps the API round trips, the shim's and the runtime's start-up,
/// and the runtime's move of the init then finds the lock warm.
///
/// The writer holds cgroup_mutex while it waits, so a cgroup mkdir meanwhile waits too: that is
/// why the runtime does not do this itself (its mkdir comes right after).
/// </summary>
public static class CgroupMoveWarmup
{
    private static int _inFlight;

    public static void Kick()
    {
        if (Interlocked.Exchange(ref _inFlight, 1) == 1) return;
        var t = new Thread(() =>
        {
            try { MoveSelfInPlace(); }
            finally { Volatile.Write(ref _inFlight, 0); }
        }) { IsBackground = true, Name = "cgroup-warmup" };
        t.Start();
    }

    private static void MoveSelfInPlace()
    {
        try
        {
            var self = CgroupLayout.ReadSelfCgroup();
            var h = CgroupLayout.Current.Hierarchies.FirstOrDefault(x => CgroupLayout.PathIn(x, self) is not null);
            if (h is null) return;
            FdIo.WriteFile(Path.Combine(h.HostPath(CgroupLayout.PathIn(h, self)!), "cgroup.procs"), Environment.ProcessId.ToString());
        }
        catch (Exception)
        {
            // Only an optimisation: the real move works (and waits) without it.
        }
    }
}
