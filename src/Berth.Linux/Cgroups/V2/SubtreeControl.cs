namespace Berth.Linux.Cgroups.V2;

/// <summary>Makes a cgroup2 parent hand its controllers down to its children.</summary>
internal static class SubtreeControl
{
    /// <summary>
    /// Enables in <paramref name="parent"/>'s cgroup.subtree_control every controller the parent has. Best effort:
    /// a parent holding processes may not enable domain controllers ("no internal processes" rule, EBUSY), and a
    /// controller may be bound to a v1 hierarchy; then the child simply lacks those files, and an Apply that needs
    /// one fails naming the missing file.
    /// </summary>
    public static void EnableAll(string parent)
    {
        var available = (CgroupFiles.TryRead(parent, "cgroup.controllers") ?? "").Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var enabled = (CgroupFiles.TryRead(parent, "cgroup.subtree_control") ?? "").Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var missing = available.Except(enabled).ToArray();
        if (missing.Length == 0) return;
        if (CgroupFiles.TryWrite(parent, "cgroup.subtree_control", string.Join(' ', missing.Select(c => "+" + c))) == 0) return;
        foreach (var c in missing) CgroupFiles.TryWrite(parent, "cgroup.subtree_control", "+" + c);
    }
}
