using Berth.Oci.Runtime;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// The device cgroup rules the container gets: the config's own, then allows for the
/// devices every container has (the spec's default /dev entries, ptys) and for each of
/// linux.devices, so a "deny all" rule does not take away the container's own /dev.
/// </summary>
public static class DeviceRules
{
    private static readonly (string Type, long? Major, long? Minor)[] Defaults =
    {
        ("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9), // null zero full random urandom
        ("c", 5, 0), ("c", 5, 1), ("c", 5, 2),                           // tty console ptmx
        ("c", 136, null),                                                 // /dev/pts/*
    };

    public static LinuxResources WithContainerDevices(LinuxResources resources, IEnumerable<LinuxDevice>? devices)
    {
        if (resources.Devices is not { Count: > 0 }) return resources;
        var rules = new List<LinuxDeviceCgroup>(resources.Devices);
        foreach (var (type, major, minor) in Defaults)
            rules.Add(new LinuxDeviceCgroup { Allow = true, Type = type, Major = major, Minor = minor, Access = "rwm" });
        foreach (var d in devices ?? Array.Empty<LinuxDevice>())
            if (d.Type is "c" or "b" or "u")
                rules.Add(new LinuxDeviceCgroup { Allow = true, Type = d.Type == "u" ? "c" : d.Type, Major = d.Major, Minor = d.Minor, Access = "rwm" });
        return new LinuxResources
        {
            Devices = rules, Memory = resources.Memory, Cpu = resources.Cpu, Pids = resources.Pids, BlockIo = resources.BlockIo,
            HugepageLimits = resources.HugepageLimits, Network = resources.Network, Rdma = resources.Rdma, Unified = resources.Unified,
        };
    }
}
