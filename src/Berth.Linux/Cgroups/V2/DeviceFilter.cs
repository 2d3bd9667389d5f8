using Berth.Linux.Interop;
using Berth.Oci.Runtime;

namespace Berth.Linux.Cgroups.V2;

/// <summary>
/// v2 device access control: cgroup2 has no devices.* files; a BPF_PROG_TYPE_CGROUP_DEVICE program attached to
/// the cgroup directory decides every open/mknod of a device node by the cgroup's tasks.
/// </summary>
internal static class DeviceFilter
{
    /// <summary>
    /// Loads the program for <paramref name="rules"/>, attaches it, then detaches the programs attached before
    /// (an update). In between both run and a device is allowed only when both allow it, so no moment is looser
    /// than either policy.
    /// </summary>
    public static void Apply(string dir, List<LinuxDeviceCgroup> rules)
    {
        var normalized = rules.Select(DeviceRules.Normalize).ToList();
        var insns = DeviceFilterProgram.Compile(normalized);
        int cg = LibC.open(dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0);
        if (cg < 0) throw CgroupException.Op("open", dir, Errno.Last);
        try
        {
            var old = CgroupInterop.QueryDevicePrograms(cg);
            int prog = CgroupInterop.LoadDeviceProgram(insns, "berth_devices");
            try
            {
                int e = CgroupInterop.Attach(cg, prog, CgroupInterop.BPF_F_ALLOW_MULTI);
                if (e != 0) throw CgroupException.Op("bpf(BPF_PROG_ATTACH) device filter to", dir, e);
            }
            finally { LibC.close(prog); } // the attachment holds its own reference
            foreach (var id in old)
            {
                int fd = CgroupInterop.ProgramFdById(id);
                if (fd < 0) continue; // already gone
                try
                {
                    int e = CgroupInterop.Detach(cg, fd);
                    if (e != 0 && e != Errno.ENOENT) throw CgroupException.Op("bpf(BPF_PROG_DETACH) old device filter from", dir, e);
                }
                finally { LibC.close(fd); }
            }
        }
        finally { LibC.close(cg); }
    }
}
