using Berth.Oci.Runtime;

namespace Berth.Linux.Cgroups;

/// <summary>One normalised device cgroup rule: type 'a', 'b' or 'c'; null major/minor is the wildcard.</summary>
public sealed record DeviceRule(bool Allow, char Type, long? Major, long? Minor, string Access)
{
    public bool Read => Access.Contains('r');
    public bool Write => Access.Contains('w');
    public bool Mknod => Access.Contains('m');
}

/// <summary>Validation and v1 rendering of the spec's linux.resources.devices.</summary>
public static class DeviceRules
{
    /// <summary>Checks and normalises a spec rule: missing type is 'a', missing/negative numbers are wildcards, missing access is "rwm".</summary>
    public static DeviceRule Normalize(LinuxDeviceCgroup d)
    {
        char type = string.IsNullOrEmpty(d.Type) ? 'a' : d.Type.Length == 1 ? d.Type[0] : '?';
        if (type is not ('a' or 'b' or 'c'))
            throw new CgroupException($"device rule type \"{d.Type}\": must be a, b or c");
        var access = string.IsNullOrEmpty(d.Access) ? "rwm" : d.Access;
        if (access.Any(c => c is not ('r' or 'w' or 'm')) || access.Distinct().Count() != access.Length)
            throw new CgroupException($"device rule access \"{d.Access}\": must be letters of rwm");
        long? major = d.Major is null or < 0 ? null : d.Major;
        long? minor = d.Minor is null or < 0 ? null : d.Minor;
        return new DeviceRule(d.Allow, type, major, minor, access);
    }

    /// <summary>The line for devices.allow / devices.deny: "a", "c 1:3 rwm", "b *:* m".</summary>
    public static string RenderV1(DeviceRule r)
    {
        // Type 'a' covers every device; the kernel ignores numbers and access for it.
        if (r.Type == 'a') return "a";
        return $"{r.Type} {(r.Major?.ToString() ?? "*")}:{(r.Minor?.ToString() ?? "*")} {r.Access}";
    }
}
