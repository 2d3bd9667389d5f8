using Berth.Linux.Cgroups.V1;
using Berth.Linux.Cgroups.V2;

namespace Berth.Linux.Cgroups;

/// <summary>Opens the right manager (v1 for V1 and Hybrid hosts, v2 for pure V2) for a cgroupsPath.</summary>
public static class CgroupManager
{
    /// <summary>
    /// Opens (does not create) the cgroup <paramref name="cgroupsPath"/>: an absolute path is taken from each
    /// hierarchy's root; a relative one is placed under the calling process's own cgroup in each hierarchy (runc's
    /// rule), read from <paramref name="self"/> (default /proc/self/cgroup).
    /// A runtime that reopens a container later should store <see cref="ICgroupManager.Paths"/> and use
    /// <see cref="Reopen"/>, or store an absolute path: a relative path depends on where the caller runs.
    /// </summary>
    public static ICgroupManager Open(string cgroupsPath, CgroupLayout? layout = null, IReadOnlyList<ProcCgroupEntry>? self = null)
    {
        layout ??= CgroupLayout.Current;
        if (layout.Hierarchies.Count == 0) throw new CgroupException("no cgroup hierarchy is mounted (see /proc/self/mountinfo)");
        bool relative = !cgroupsPath.StartsWith('/');
        if (relative) self ??= CgroupLayout.ReadSelfCgroup();
        var dirs = new List<CgroupDirectory>();
        foreach (var h in layout.Hierarchies)
        {
            var own = relative ? CgroupLayout.PathIn(h, self!) ?? "/" : "/";
            var path = CgroupPaths.Resolve(cgroupsPath, own);
            dirs.Add(new CgroupDirectory(h, path, h.HostPath(path)));
        }
        return Create(layout, dirs);
    }

    /// <summary>Reopens a manager from a saved <see cref="ICgroupManager.Paths"/> map (hierarchies no longer mounted are skipped).</summary>
    public static ICgroupManager Reopen(IReadOnlyDictionary<string, string> paths, CgroupLayout? layout = null)
    {
        layout ??= CgroupLayout.Current;
        var dirs = new List<CgroupDirectory>();
        foreach (var h in layout.Hierarchies)
        {
            if (!paths.TryGetValue(h.Key, out var host)) continue;
            var mount = h.MountPoint.TrimEnd('/');
            if (host != mount && !host.StartsWith(mount + "/", StringComparison.Ordinal))
                throw new CgroupException($"saved cgroup path {host} is not inside {mount}");
            var rel = host.Length == mount.Length ? "/" : host.Substring(mount.Length);
            var path = h.Root == "/" ? CgroupPaths.Normalize(rel) : CgroupPaths.Normalize(h.Root + rel);
            dirs.Add(new CgroupDirectory(h, path, host));
        }
        if (dirs.Count == 0) throw new CgroupException("none of the saved cgroup paths belongs to a mounted hierarchy");
        return Create(layout, dirs);
    }

    private static ICgroupManager Create(CgroupLayout layout, List<CgroupDirectory> dirs) =>
        layout.Mode == CgroupMode.V2 ? new CgroupV2Manager(layout, dirs) : new CgroupV1Manager(layout, dirs);
}
