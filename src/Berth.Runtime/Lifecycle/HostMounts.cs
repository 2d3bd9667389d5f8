using Berth.Linux.Interop;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// A container without a mount namespace of its own has its mounts in the runtime's
/// namespace, under its rootfs (RootfsBuilder). They outlive its processes, so create's
/// undo and delete detach them: every mount at or below the rootfs, deepest first.
/// </summary>
public static class HostMounts
{
    /// <summary>True when the config neither creates nor joins a mount namespace.</summary>
    public static bool InHostNamespace(Spec spec) =>
        !(spec.Linux?.Namespaces ?? new List<LinuxNamespace>()).Any(n => n.Type == "mount");

    public static void DetachUnder(string rootfs)
    {
        string root = rootfs.TrimEnd('/');
        var points = new List<string>();
        foreach (var line in Berth.Linux.Io.FdIo.ReadLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            if (f.Length < 5) continue;
            string mp = Unescape(f[4]);
            if (mp == root || mp.StartsWith(root + "/", StringComparison.Ordinal)) points.Add(mp);
        }
        // Later lines are mounted later (on top, or below): detach in reverse order.
        for (int i = points.Count - 1; i >= 0; i--) LibC.umount2(points[i], MNT.DETACH);
    }

    private static string Unescape(string s) => s.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");
}
