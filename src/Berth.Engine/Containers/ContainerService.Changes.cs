using Berth.Linux.Interop;

namespace Berth.Engine.Containers;

public sealed partial class ContainerService
{
    /// <summary>
    /// The mount points the runtime makes in every container's root. Docker keeps them in an init
    /// layer below the container's own, so neither diff nor commit ever shows them; here they are
    /// created in the writable layer and left out by name.
    /// </summary>
    private static readonly string[] RuntimeMountPoints =
        ["dev", "proc", "sys", "etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/mtab", ".dockerenv"];

    /// <summary>True for a runtime mount point or anything below one (a path relative to the root, no leading slash).</summary>
    internal static bool IsRuntimeMountPoint(string rel)
    {
        foreach (var m in RuntimeMountPoints)
            if (rel == m || rel.Length > m.Length && rel[m.Length] == '/' && rel.StartsWith(m, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>docker diff from the writable overlay layer: Kind 0 changed, 1 added, 2 deleted (whiteouts).</summary>
    public List<(string Path, int Kind)> Changes(Container c)
    {
        var m = Images.Snapshots.MountsOf(c.Id);
        if (m.UpperDir is not { } upper || !Directory.Exists(upper))
            throw new EngineException(501, $"changes are not available with the {Images.Snapshots.Name} snapshotter");
        var lowers = m.LowerDirs.Select(l => LibC.open(l, O.PATH | O.DIRECTORY | O.CLOEXEC, 0)).Where(fd => fd >= 0).ToList();
        try
        {
            var result = new List<(string, int)>();
            // Returns whether anything below dir was reported, and whether a runtime mount point was met.
            (bool Any, bool Hidden) Walk(string dir, string rel)
            {
                bool any = false, hidden = false;
                foreach (var e in new DirectoryInfo(dir).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
                {
                    string inner = rel.Length == 0 ? e.Name : rel + "/" + e.Name;
                    if (IsRuntimeMountPoint(inner)) { hidden = true; continue; }
                    if (e is FileInfo && IsWhiteout(e.FullName)) { result.Add(("/" + inner, 2)); any = true; continue; }
                    bool existed = lowers.Any(l => ExistsInLower(l, inner));
                    int at = result.Count;
                    result.Add(("/" + inner, existed ? 0 : 1));
                    if (e is DirectoryInfo && e.LinkTarget is null)
                    {
                        var (below, hid) = Walk(e.FullName, inner);
                        // A directory of the image that is in the writable layer only because the runtime
                        // made a mount point in it (/etc for /etc/hosts) is not a change of the container's.
                        if (existed && hid && !below) result.RemoveAt(at);
                    }
                    if (result.Count > at) any = true;
                }
                return (any, hidden);
            }
            Walk(upper, "");
            return result;
        }
        finally { foreach (var fd in lowers) LibC.close(fd); }
    }

    /// <summary>
    /// Whether a lower layer holds the path. Looked up as overlayfs does, name by name inside the layer
    /// directory without following symlinks: a layer's symlink never leads to the host's files.
    /// </summary>
    private static unsafe bool ExistsInLower(int lowerFd, string rel)
    {
        int slash = rel.LastIndexOf('/');
        int dir = lowerFd;
        if (slash > 0)
        {
            var how = new OpenHow { Flags = (ulong)(O.PATH | O.DIRECTORY | O.CLOEXEC), Resolve = Resolve.BENEATH | Resolve.NO_SYMLINKS | Resolve.NO_MAGICLINKS };
            dir = LibC.openat2(lowerFd, rel[..slash], &how);
            if (dir < 0) return false;
        }
        try
        {
            Stat st;
            return LibC.fstatat(dir, slash > 0 ? rel[(slash + 1)..] : rel, &st, At.SYMLINK_NOFOLLOW) == 0;
        }
        finally { if (dir != lowerFd) LibC.close(dir); }
    }

    private static unsafe bool IsWhiteout(string path)
    {
        var st = new Stat();
        if (LibC.fstatat(At.FDCWD, path, &st, At.SYMLINK_NOFOLLOW) != 0) return false;
        return (st.Mode & 0xF000) == 0x2000 && st.Rdev == 0; // a 0/0 character device
    }
}
