using Berth.Linux;
using Berth.Linux.Interop;
using Berth.Oci.Runtime;
using Berth.Runtime.Bundle;

namespace Berth.Runtime.Lifecycle;

/// <summary>Turns linux.namespaces into clone flags and namespace fds to join (user first).</summary>
internal static class NamespacePlanner
{
    // The order joins happen in: the user namespace grants the rights for the others;
    // the mount namespace last, since it changes our root.
    private static readonly string[] JoinOrder = { "user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount" };

    private static readonly Dictionary<string, string> ProcNames = new()
    {
        ["user"] = "user", ["ipc"] = "ipc", ["uts"] = "uts", ["network"] = "net", ["pid"] = "pid",
        ["cgroup"] = "cgroup", ["time"] = "time", ["mount"] = "mnt",
    };

    public static SpawnPlan ForCreate(Spec spec)
    {
        var plan = new SpawnPlan();
        var ns = spec.Linux?.Namespaces ?? new List<LinuxNamespace>();
        try
        {
            foreach (var type in JoinOrder)
            {
                var n = ns.FirstOrDefault(x => x.Type == type);
                if (n is null) continue;
                int flag = SpecValidator.NamespaceFlags[type];
                if (string.IsNullOrEmpty(n.Path)) plan.CloneFlags |= flag;
                else
                {
                    int fd = LibC.open(n.Path, O.RDONLY | O.CLOEXEC, 0);
                    if (fd < 0) throw new LinuxException(Errno.Last, $"linux.namespaces: open {type} namespace {n.Path}");
                    plan.Joins.Add((fd, flag));
                }
            }
            bool newUser = (plan.CloneFlags & CLONE.NEWUSER) != 0;
            if (newUser)
            {
                plan.UidMappings = spec.Linux?.UidMappings;
                plan.GidMappings = spec.Linux?.GidMappings;
            }
            plan.BecomeRoot = newUser || plan.Joins.Any(j => j.Type == CLONE.NEWUSER);
            if ((plan.CloneFlags & CLONE.NEWTIME) != 0 && spec.Linux?.TimeOffsets is { Count: > 0 } offsets)
                plan.TimeOffsets = string.Concat(offsets.Select(o => $"{o.Key} {o.Value.Secs} {o.Value.Nanosecs}\n"));
            return plan;
        }
        catch
        {
            plan.CloseJoinFds();
            throw;
        }
    }

    /// <summary>Every namespace of a running container's init that differs from ours.</summary>
    public static SpawnPlan ForExec(int initPid)
    {
        var plan = new SpawnPlan();
        try
        {
            foreach (var type in JoinOrder)
            {
                string name = ProcNames[type];
                string theirs = $"/proc/{initPid}/ns/{name}";
                string ours = $"/proc/self/ns/{name}";
                if (!File.Exists(theirs)) continue;
                if (SameInode(theirs, ours)) continue;
                int fd = LibC.open(theirs, O.RDONLY | O.CLOEXEC, 0);
                if (fd < 0) throw new LinuxException(Errno.Last, $"open {theirs}");
                plan.Joins.Add((fd, SpecValidator.NamespaceFlags[type]));
            }
            plan.BecomeRoot = plan.Joins.Any(j => j.Type == CLONE.NEWUSER);
            return plan;
        }
        catch
        {
            plan.CloseJoinFds();
            throw;
        }
    }

    private static unsafe bool SameInode(string a, string b)
    {
        Stat sa, sb;
        if (LibC.fstatat(At.FDCWD, a, &sa, 0) < 0 || LibC.fstatat(At.FDCWD, b, &sb, 0) < 0) return false;
        return sa.Ino == sb.Ino && sa.Dev == sb.Dev;
    }
}
