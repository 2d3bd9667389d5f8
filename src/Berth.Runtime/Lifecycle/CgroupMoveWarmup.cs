using Berth.Linux.Cgroups;
using Berth.Linux.Io;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// Starts the kernel's wait for moving a process between cgroups before there is a process
/// to move. Every write to cgroup.procs takes the global threadgroup rwsem for writing; the
/// first writer after a quiet spell waits a whole RCU grace period (10-20 ms here) for the
/// readers' fast path to switch off, and writers right after it do not. So create writes its
/// own pid into its own cgroup (a move to where it already is: nothing changes) on a thread,
/// while it parses the config and clones; the init's real move then finds the lock warm.
/// </summary>
internal static class CgroupMoveWarmup
{
    public static void Start()
    {
        var t = new Thread(Run) { IsBackground = true, Name = "cgroup-warmup" };
        t.Start();
    }

    private static void Run()
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
