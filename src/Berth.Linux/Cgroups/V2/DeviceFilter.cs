using Berth.Oci.Runtime;

namespace Berth.Linux.Cgroups.V2;

/// <summary>v2 device access control: cgroup2 has no devices.* files; a BPF_PROG_TYPE_CGROUP_DEVICE program does the job.</summary>
internal static class DeviceFilter
{
    public static void Apply(string dir, List<LinuxDeviceCgroup> rules)
    {
        foreach (var r in rules) DeviceRules.Normalize(r); // reject bad rules before anything is attached
        throw new NotSupportedException("device rules on cgroup v2 need an eBPF device filter, not implemented yet");
    }
}
