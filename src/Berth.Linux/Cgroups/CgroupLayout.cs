namespace Berth.Linux.Cgroups;

/// <summary>How cgroups are mounted on this host.</summary>
public enum CgroupMode
{
    /// <summary>Only v1 hierarchies (one mount per controller or controller group).</summary>
    V1,
    /// <summary>Only the unified cgroup2 hierarchy.</summary>
    V2,
    /// <summary>v1 controller hierarchies plus a cgroup2 hierarchy (usually /sys/fs/cgroup/unified) beside them.</summary>
    Hybrid,
}

/// <summary>
/// One mounted cgroup hierarchy. <see cref="Controllers"/> holds the v1 controllers bound to it, with
/// named hierarchies as "name=systemd"; for v2 it holds the controllers listed in the root's cgroup.controllers.
/// <see cref="Root"/> is the cgroup (inside the hierarchy) that the mount shows at <see cref="MountPoint"/>:
/// "/" normally, something deeper inside a cgroup namespace or for a bind mount.
/// </summary>
public sealed record CgroupHierarchy(string MountPoint, string Root, IReadOnlyList<string> Controllers, bool IsV2)
{
    /// <summary>The mount's directory name ("cpu,cpuacct", "memory", "systemd", "unified"); "" for a pure-v2 /sys/fs/cgroup.</summary>
    public string Name { get; init; } = Path.GetFileName(MountPoint.TrimEnd('/'));

    /// <summary>The named-hierarchy name ("systemd" for name=systemd), or null.</summary>
    public string? NamedHierarchy =>
        Controllers.FirstOrDefault(c => c.StartsWith("name=", StringComparison.Ordinal))?.Substring(5);

    /// <summary>Stable key for <see cref="ICgroupManager.Paths"/>: the sorted controller list ("cpu,cpuacct", "name=systemd"), or "unified" for v2.</summary>
    public string Key => IsV2 ? "unified" : string.Join(',', Controllers);

    public bool Has(string controller) => Controllers.Contains(controller);

    /// <summary>Host path of <paramref name="cgroupPath"/> (a path inside the hierarchy, from its root).</summary>
    public string HostPath(string cgroupPath)
    {
        // A mount whose root is /a/b shows cgroup /a/b/c at MountPoint/c; outside that subtree is unreachable.
        var rel = CgroupPaths.Normalize(cgroupPath);
        if (Root != "/")
        {
            if (rel == Root) rel = "/";
            else if (rel.StartsWith(Root + "/", StringComparison.Ordinal)) rel = rel.Substring(Root.Length);
        }
        return rel == "/" ? MountPoint : MountPoint.TrimEnd('/') + rel;
    }
}

/// <summary>One line of /proc/&lt;pid&gt;/cgroup: "hierarchy-id:controller-list:path".</summary>
public sealed record ProcCgroupEntry(int HierarchyId, IReadOnlyList<string> Controllers, string Path)
{
    /// <summary>The v2 line is "0::/path" (no controllers).</summary>
    public bool IsV2 => HierarchyId == 0 && Controllers.Count == 0;
}

/// <summary>The cgroup hierarchies of this host, detected from mountinfo.</summary>
public sealed class CgroupLayout
{
    /// <summary>v1 controllers the kernel knows; anything else in the super options is a mount option.</summary>
    private static readonly HashSet<string> KnownV1Controllers = new(StringComparer.Ordinal)
    {
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio", "blkio",
        "perf_event", "hugetlb", "pids", "rdma", "misc", "debug",
    };

    public CgroupMode Mode { get; }
    public IReadOnlyList<CgroupHierarchy> Hierarchies { get; }

    /// <summary>The cgroup2 hierarchy (the only one for V2, the "unified" one for Hybrid), or null on pure v1.</summary>
    public CgroupHierarchy? Unified => Hierarchies.FirstOrDefault(h => h.IsV2);

    public IEnumerable<CgroupHierarchy> V1Hierarchies => Hierarchies.Where(h => !h.IsV2);

    public CgroupLayout(CgroupMode mode, IReadOnlyList<CgroupHierarchy> hierarchies)
    {
        Mode = mode;
        Hierarchies = hierarchies;
    }

    private static CgroupLayout? _current;

    /// <summary>The host layout, read once from /proc/self/mountinfo (mounts of cgroup hierarchies do not move at run time).</summary>
    public static CgroupLayout Current => _current ??= Detect(MountInfo.ReadSelf(), ReadV2Controllers);

    /// <summary>Re-reads mountinfo (tests, or after the process changed mount namespace).</summary>
    public static CgroupLayout Refresh() => _current = Detect(MountInfo.ReadSelf(), ReadV2Controllers);

    /// <summary>
    /// Builds the layout from mountinfo entries. <paramref name="v2Controllers"/> maps a cgroup2 mount point to the
    /// controllers its root offers (null: leave empty, for parsing sample text).
    /// </summary>
    public static CgroupLayout Detect(IReadOnlyList<MountInfoEntry> mounts, Func<string, IReadOnlyList<string>>? v2Controllers = null)
    {
        var list = new List<CgroupHierarchy>();
        var seenV1 = new HashSet<string>(StringComparer.Ordinal);
        bool seenV2 = false;
        foreach (var m in mounts)
        {
            if (m.FsType == "cgroup2")
            {
                // The same hierarchy can be mounted more than once (bind mounts); the first mount wins.
                if (seenV2) continue;
                seenV2 = true;
                list.Add(new CgroupHierarchy(m.MountPoint, m.Root, v2Controllers?.Invoke(m.MountPoint) ?? Array.Empty<string>(), true));
            }
            else if (m.FsType == "cgroup")
            {
                var ctrls = m.SuperOptions
                    .Where(o => KnownV1Controllers.Contains(o) || o.StartsWith("name=", StringComparison.Ordinal))
                    .OrderBy(o => o, StringComparer.Ordinal).ToArray();
                if (ctrls.Length == 0 || !seenV1.Add(string.Join(',', ctrls))) continue;
                list.Add(new CgroupHierarchy(m.MountPoint, m.Root, ctrls, false));
            }
        }
        bool anyV1 = list.Any(h => !h.IsV2);
        // A v2 mount with v1 hierarchies beside it is hybrid; no cgroup mount at all is reported as V1 with no hierarchies.
        var mode = seenV2 ? (anyV1 ? CgroupMode.Hybrid : CgroupMode.V2) : CgroupMode.V1;
        return new CgroupLayout(mode, list);
    }

    /// <summary>Parses /proc/&lt;pid&gt;/cgroup text.</summary>
    public static IReadOnlyList<ProcCgroupEntry> ParseProcCgroup(string text)
    {
        var list = new List<ProcCgroupEntry>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            // The path may itself contain ':' so split into at most three parts.
            var parts = line.Split(':', 3);
            if (parts.Length != 3 || !int.TryParse(parts[0], out var id)) continue;
            var ctrls = parts[1].Length == 0 ? Array.Empty<string>() : parts[1].Split(',');
            list.Add(new ProcCgroupEntry(id, ctrls, parts[2]));
        }
        return list;
    }

    public static IReadOnlyList<ProcCgroupEntry> ReadProcCgroup(int pid) =>
        ParseProcCgroup(Io.FdIo.ReadText($"/proc/{pid}/cgroup"));

    public static IReadOnlyList<ProcCgroupEntry> ReadSelfCgroup() => ParseProcCgroup(Io.FdIo.ReadText("/proc/self/cgroup"));

    /// <summary>The path of a process's cgroup in <paramref name="h"/>, from /proc/&lt;pid&gt;/cgroup entries; null when absent.</summary>
    public static string? PathIn(CgroupHierarchy h, IReadOnlyList<ProcCgroupEntry> entries)
    {
        foreach (var e in entries)
        {
            if (h.IsV2 ? e.IsV2 : (!e.IsV2 && e.Controllers.Count == h.Controllers.Count && e.Controllers.All(h.Has)))
                return e.Path;
        }
        return null;
    }

    private static IReadOnlyList<string> ReadV2Controllers(string mountPoint)
    {
        try { return Io.FdIo.ReadText(Path.Combine(mountPoint, "cgroup.controllers")).Split(' ', '\n', StringSplitOptions.RemoveEmptyEntries); }
        catch (IOException) { return Array.Empty<string>(); }
        catch (UnauthorizedAccessException) { return Array.Empty<string>(); }
    }
}
