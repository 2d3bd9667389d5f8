namespace Berth.Engine.Containers;

public sealed partial class ContainerService
{
    /// <summary>docker diff from the writable overlay layer: Kind 0 changed, 1 added, 2 deleted (whiteouts).</summary>
    public List<(string Path, int Kind)> Changes(Container c)
    {
        var m = Images.Snapshots.MountsOf(c.Id);
        if (m.UpperDir is not { } upper || !Directory.Exists(upper))
            throw new EngineException(501, $"changes are not available with the {Images.Snapshots.Name} snapshotter");
        var result = new List<(string, int)>();
        bool InLower(string rel) => m.LowerDirs.Any(l => Path.Exists(Path.Combine(l, rel)) || new FileInfo(Path.Combine(l, rel)).LinkTarget is not null);
        void Walk(string dir, string rel)
        {
            foreach (var e in new DirectoryInfo(dir).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                string r = rel + "/" + e.Name;
                string inner = r.TrimStart('/');
                bool whiteout = e is FileInfo && IsWhiteout(e.FullName);
                if (whiteout) { result.Add((r, 2)); continue; }
                result.Add((r, InLower(inner) ? 0 : 1));
                if (e is DirectoryInfo && e.LinkTarget is null) Walk(e.FullName, r);
            }
        }
        Walk(upper, "");
        return result;
    }

    private static unsafe bool IsWhiteout(string path)
    {
        var st = new Berth.Linux.Interop.Stat();
        if (Berth.Linux.Interop.LibC.fstatat(Berth.Linux.Interop.At.FDCWD, path, &st, Berth.Linux.Interop.At.SYMLINK_NOFOLLOW) != 0) return false;
        return (st.Mode & 0xF000) == 0x2000 && st.Rdev == 0; // a 0/0 character device
    }
}
