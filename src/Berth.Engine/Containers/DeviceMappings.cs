using Berth.Engine.Api;
using Berth.Linux.Interop;
using Berth.Oci.Runtime;

namespace Berth.Engine.Containers;

/// <summary>
/// --device and --device-cgroup-rule: host device nodes made in the container (a directory gives
/// every device below it), each allowed in the device cgroup with its permissions, as docker does.
/// </summary>
public static unsafe class DeviceMappings
{
    /// <summary>Checked at create: a path that is not a device (or a directory of them) and a bad rule are 400s.</summary>
    public static void Validate(HostConfig hc)
    {
        foreach (var m in hc.Devices ?? [])
        {
            if (m.PathOnHost == "") throw EngineException.BadRequest("invalid device mapping: the host path is empty");
            if (m.PathInContainer != "" && !m.PathInContainer.StartsWith('/'))
                throw EngineException.BadRequest($"invalid device mapping {m.PathOnHost}:{m.PathInContainer}: the container path must be absolute");
            Permissions(m);
            if (!Expand(m).Any())
                throw EngineException.BadRequest($"error gathering device information while adding custom device \"{m.PathOnHost}\": not a device node");
        }
        foreach (var r in hc.DeviceCgroupRules ?? []) ParseRule(r);
    }

    /// <summary>The nodes a mapping makes, with the cgroup rule that lets each be used.</summary>
    public static List<(LinuxDevice Node, LinuxDeviceCgroup Rule)> Expand(DeviceMapping m)
    {
        string access = Permissions(m);
        string target = m.PathInContainer != "" ? m.PathInContainer : m.PathOnHost;
        var found = new List<(LinuxDevice, LinuxDeviceCgroup)>();
        // The host path is followed if it is a symlink (/dev/disk/by-id/...), as docker does.
        if (!TryStat(m.PathOnHost, follow: true, out var st))
            throw EngineException.BadRequest($"error gathering device information while adding custom device \"{m.PathOnHost}\": no such file or directory");
        if ((st.Mode & 0xF000) != 0x4000)
        {
            if (Node(target, st) is { } one) found.Add((one, Rule(one, access)));
            return found;
        }
        // A directory: every device below it, at the same place below the container path.
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        foreach (var path in Directory.EnumerateFiles(m.PathOnHost, "*", options).Order(StringComparer.Ordinal))
        {
            if (!TryStat(path, follow: false, out var s)) continue;
            if (Node(target.TrimEnd('/') + path[m.PathOnHost.TrimEnd('/').Length..], s) is { } n) found.Add((n, Rule(n, access)));
        }
        return found;
    }

    private static bool TryStat(string path, bool follow, out Stat st)
    {
        Stat s;
        bool ok = LibC.fstatat(-100, path, &s, follow ? 0 : 0x100 /* AT_SYMLINK_NOFOLLOW */) == 0;
        st = s;
        return ok;
    }

    /// <summary>A character or block device node described at <paramref name="path"/>; null for anything else.</summary>
    internal static LinuxDevice? Node(string path, Stat st)
    {
        uint fmt = st.Mode & 0xF000;
        if (fmt is not (0x2000 or 0x6000)) return null;
        ulong rdev = st.Rdev;
        long major = (long)(((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~0xfffUL));
        long minor = (long)((rdev & 0xff) | ((rdev >> 12) & ~0xffUL));
        return new LinuxDevice { Path = path, Type = fmt == 0x2000 ? "c" : "b", Major = major, Minor = minor, FileMode = st.Mode & 0xFFF, Uid = st.Uid, Gid = st.Gid };
    }

    private static LinuxDeviceCgroup Rule(LinuxDevice d, string access) =>
        new() { Allow = true, Type = d.Type, Major = d.Major, Minor = d.Minor, Access = access };

    private static string Permissions(DeviceMapping m)
    {
        string p = m.CgroupPermissions == "" ? "rwm" : m.CgroupPermissions;
        if (p.Length > 3 || p.Any(c => c is not ('r' or 'w' or 'm')) || p.Distinct().Count() != p.Length)
            throw EngineException.BadRequest($"invalid device mapping {m.PathOnHost}: permissions \"{p}\" must be made of r, w and m");
        return p;
    }

    /// <summary>A --device-cgroup-rule: "TYPE MAJOR:MINOR ACCESS" (type a, b or c; * for any number).</summary>
    public static LinuxDeviceCgroup ParseRule(string rule)
    {
        var f = rule.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var mm = f.Length == 3 ? f[1].Split(':') : [];
        long? Number(string s) => s == "*" ? null : long.TryParse(s, out long n) && n >= 0 ? n : throw Bad();
        EngineException Bad() => EngineException.BadRequest($"invalid device cgroup rule \"{rule}\": expected TYPE MAJOR:MINOR ACCESS, such as \"c 1:3 rwm\"");
        if (f.Length != 3 || f[0] is not ("a" or "b" or "c") || mm.Length != 2) throw Bad();
        if (f[2].Length is 0 or > 3 || f[2].Any(c => c is not ('r' or 'w' or 'm'))) throw Bad();
        return new LinuxDeviceCgroup { Allow = true, Type = f[0], Major = Number(mm[0]), Minor = Number(mm[1]), Access = f[2] };
    }
}
