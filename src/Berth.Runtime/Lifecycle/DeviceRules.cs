using Berth.Oci.Runtime;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// The device cgroup rules the container gets: the config's own, then allows for the
/// devices every container has (the spec's default /dev entries, ptys), so a "deny all"
/// rule does not take away the container's own /dev. The nodes of linux.devices get no
/// rule of their own, as with runc: the config's rules say how each may be used (docker's
/// `--device X:r` is a node plus a read-only rule), and a node with no rule exists but cannot
/// be opened.
/// </summary>
public static class DeviceRules
{
    // runc's allowed defaults: mknod of any node (the init makes linux.devices with it), and use of
    // the devices every container has.
    private static readonly (string Type, long? Major, long? Minor, string Access)[] Defaults =
    {
        ("c", null, null, "m"), ("b", null, null, "m"),                                      // mknod
        ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 7, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 9, "rwm"), // null zero full random urandom
        ("c", 5, 0, "rwm"), ("c", 5, 1, "rwm"), ("c", 5, 2, "rwm"),                          // tty console ptmx
        ("c", 136, null, "rwm"),                                                            // /dev/pts/*
        ("c", 10, 200, "rwm"),                                                              // /dev/net/tun
    };

    public static LinuxResources WithContainerDevices(LinuxResources resources)
    {
        if (resources.Devices is not { Count: > 0 }) return resources;
        var rules = new List<LinuxDeviceCgroup>(resources.Devices);
        foreach (var (type, major, minor, access) in Defaults)
            rules.Add(new LinuxDeviceCgroup { Allow = true, Type = type, Major = major, Minor = minor, Access = access });
        return new LinuxResources
        {
            Devices = rules, Memory = resources.Memory, Cpu = resources.Cpu, Pids = resources.Pids, BlockIo = resources.BlockIo,
            HugepageLimits = resources.HugepageLimits, Network = resources.Network, Rdma = resources.Rdma, Unified = resources.Unified,
        };
    }
}
