using Berth.Linux.Cgroups.Stats;
using Berth.Oci.Runtime;

namespace Berth.Linux.Cgroups;

/// <summary>One hierarchy's directory for this cgroup.</summary>
/// <param name="CgroupPath">The path inside the hierarchy (from its root), e.g. /berth/c1.</param>
/// <param name="HostPath">Where that cgroup is on the host, e.g. /sys/fs/cgroup/memory/berth/c1.</param>
public sealed record CgroupDirectory(CgroupHierarchy Hierarchy, string CgroupPath, string HostPath);

/// <summary>What v1 and v2 managers share: the directory list, process moves, listing, removal.</summary>
public abstract class CgroupManagerBase : ICgroupManager
{
    protected readonly List<CgroupDirectory> Directories;
    // Levels (host paths) that Create made, so Destroy can remove parents this instance created and nothing else.
    private readonly List<string> _created = new();

    protected CgroupManagerBase(CgroupLayout layout, IEnumerable<CgroupDirectory> directories)
    {
        Layout = layout;
        Directories = directories.ToList();
        Paths = Directories.ToDictionary(d => d.Hierarchy.Key, d => d.HostPath, StringComparer.Ordinal);
    }

    public CgroupLayout Layout { get; }
    public abstract bool IsV2 { get; }
    public IReadOnlyDictionary<string, string> Paths { get; }
    public IReadOnlyList<CgroupDirectory> Dirs => Directories;

    public string? PathFor(string controller) => DirFor(controller)?.HostPath;

    protected CgroupDirectory? DirFor(string controller) =>
        controller == "unified"
            ? Directories.FirstOrDefault(d => d.Hierarchy.IsV2)
            : Directories.FirstOrDefault(d => d.Hierarchy.Has(controller)) ??
              (IsV2 ? Directories.FirstOrDefault(d => d.Hierarchy.IsV2) : null);

    public bool Exists() => Directories.Count > 0 && Directories.All(d => Directory.Exists(d.HostPath));

    public abstract void Create();

    public virtual void CreateV2Directory()
    {
        foreach (var d in Directories.Where(d => d.Hierarchy.IsV2)) MakePath(d);
    }

    public IReadOnlyList<string> ParentsCreated =>
        _created.Where(level => !Directories.Any(d => d.HostPath == level)).ToList();
    public abstract void Apply(LinuxResources resources);
    public abstract void Freeze(TimeSpan? timeout = null);
    public abstract void Thaw();
    public abstract bool IsFrozen { get; }
    public abstract CgroupStats Stats();
    public abstract ulong OomKillCount();

    /// <summary>mkdir -p of one hierarchy's path; <paramref name="prepare"/> runs on every level (new or not), top-down.</summary>
    protected void MakePath(CgroupDirectory d, Action<string, string>? prepare = null)
    {
        var mount = d.Hierarchy.MountPoint.TrimEnd('/');
        if (!d.HostPath.StartsWith(mount, StringComparison.Ordinal))
            throw new CgroupException($"cgroup path {d.HostPath} is outside its hierarchy {mount}");
        var parent = mount;
        foreach (var seg in d.HostPath.Substring(mount.Length).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var level = parent + "/" + seg;
            if (CgroupFiles.MakeDir(level)) _created.Add(level);
            prepare?.Invoke(parent, level);
            parent = level;
        }
    }

    public void AddProcess(int pid)
    {
        foreach (var d in Directories)
            CgroupFiles.Write(d.HostPath, "cgroup.procs", pid.ToString());
    }

    public void AddProcessToV2(int pid)
    {
        foreach (var d in Directories.Where(d => d.Hierarchy.IsV2))
            CgroupFiles.Write(d.HostPath, "cgroup.procs", pid.ToString());
    }

    public CgroupJoin OpenJoin(bool v1 = true, bool v2 = true) =>
        CgroupJoin.Open(Directories.Where(d => d.Hierarchy.IsV2 ? v2 : v1));

    /// <summary>
    /// Union over all hierarchies: a process moved in only one hierarchy (or a child that forked while being
    /// moved) is still found, which is what kill --all needs.
    /// </summary>
    public IReadOnlyList<int> Pids()
    {
        var set = new SortedSet<int>();
        foreach (var d in Directories) Collect(d.HostPath, set);
        return set.ToList();
    }

    private static void Collect(string dir, SortedSet<int> into)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var p in CgroupFiles.ReadProcs(dir)) into.Add(p);
        string[] subs;
        try { subs = Directory.GetDirectories(dir); }
        catch (DirectoryNotFoundException) { return; }
        foreach (var s in subs) Collect(s, into);
    }

    public void Destroy(TimeSpan? busyPatience = null)
    {
        List<Exception>? errors = null;
        foreach (var d in Directories)
        {
            try { CgroupFiles.RemoveTree(d.HostPath, busyPatience); }
            catch (CgroupException e) { (errors ??= new()).Add(e); }
        }
        // Parents this instance made, deepest first; one still used by another container stays (ENOTEMPTY/EBUSY).
        for (int i = _created.Count - 1; i >= 0; i--)
        {
            if (Directory.Exists(_created[i]))
                Interop.LibC.rmdir(_created[i]);
        }
        _created.Clear();
        if (errors is { Count: 1 }) throw errors[0];
        if (errors != null) throw new CgroupException(string.Join("; ", errors.Select(e => e.Message)));
    }

    public IReadOnlyList<CgroupMountPoint> MountPoints() =>
        Directories.Select(d => new CgroupMountPoint(
            Layout.Mode == CgroupMode.V2 ? "" : d.Hierarchy.Name,
            d.HostPath, d.Hierarchy.IsV2,
            d.Hierarchy.Controllers)).ToList();
}
