namespace Berth.Linux.Cgroups;

/// <summary>Pure path logic for cgroupsPath values (OCI config linux.cgroupsPath).</summary>
public static class CgroupPaths
{
    /// <summary>
    /// Cleans a cgroup path lexically: always rooted, no "." / ".." / empty segments, no trailing slash.
    /// ".." cannot climb above the root, so a config can never name a directory outside the hierarchy.
    /// </summary>
    public static string Normalize(string path)
    {
        var stack = new List<string>();
        foreach (var seg in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (seg == ".") continue;
            if (seg == "..") { if (stack.Count > 0) stack.RemoveAt(stack.Count - 1); continue; }
            stack.Add(seg);
        }
        return "/" + string.Join('/', stack);
    }

    /// <summary>
    /// The cgroup (from the hierarchy root) that <paramref name="cgroupsPath"/> names for a process whose own cgroup
    /// in that hierarchy is <paramref name="ownCgroup"/>: an absolute path is taken from the root; a relative one
    /// is appended to the caller's own cgroup, as runc does. The relative path is cleaned on its own first, so
    /// "../x" cannot escape the caller's cgroup.
    /// </summary>
    public static string Resolve(string cgroupsPath, string ownCgroup)
    {
        if (string.IsNullOrWhiteSpace(cgroupsPath)) throw new ArgumentException("cgroupsPath is empty", nameof(cgroupsPath));
        if (cgroupsPath.StartsWith('/')) return Normalize(cgroupsPath);
        var own = Normalize(ownCgroup);
        var rel = Normalize(cgroupsPath);
        return rel == "/" ? own : Normalize(own + rel);
    }

    /// <summary>The chain of cgroups from the first level below "/" down to <paramref name="cgroup"/>: /a, /a/b, /a/b/c.</summary>
    public static IReadOnlyList<string> Levels(string cgroup)
    {
        var segs = Normalize(cgroup).Split('/', StringSplitOptions.RemoveEmptyEntries);
        var list = new List<string>(segs.Length);
        for (int i = 1; i <= segs.Length; i++) list.Add("/" + string.Join('/', segs.Take(i)));
        return list;
    }
}
