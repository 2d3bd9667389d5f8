using Berth.Linux.Interop;

namespace Berth.Linux.Cgroups;

/// <summary>
/// The bpf(2) commands the v2 device filter needs. glibc has no wrapper, so they go through syscall(2)
/// (x86_64 number 321). Each attr is a zeroed byte buffer laid out as the kernel's union bpf_attr; the kernel
/// insists that bytes past the fields it knows are zero.
/// </summary>
internal static unsafe class CgroupInterop
{
    public const long SysBpf = 321;

    public const int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9, BPF_PROG_GET_FD_BY_ID = 13, BPF_PROG_QUERY = 16;
    public const uint BPF_PROG_TYPE_CGROUP_DEVICE = 15;
    public const uint BPF_CGROUP_DEVICE = 6; // attach type
    public const uint BPF_F_ALLOW_MULTI = 2;

    private const int AttrSize = 128;

    private static int Bpf(int cmd, byte[] attr)
    {
        fixed (byte* p = attr)
        {
            long rc;
            do rc = LibC.syscall(SysBpf, cmd, (long)p, attr.Length, 0, 0, 0);
            while (rc < 0 && Errno.Last == Errno.EINTR);
            return (int)rc;
        }
    }

    /// <summary>Loads a cgroup device program; returns its fd, or throws with the verifier's log on failure.</summary>
    public static int LoadDeviceProgram(ReadOnlySpan<byte> instructions, string name)
    {
        var insns = instructions.ToArray();
        var license = "Apache-2.0\0"u8.ToArray();
        var log = new byte[65536];
        var attr = new byte[AttrSize];
        fixed (byte* pi = insns) fixed (byte* pl = license) fixed (byte* plog = log)
        {
            Put32(attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE);
            Put32(attr, 4, (uint)(insns.Length / 8));
            Put64(attr, 8, (ulong)pi);
            Put64(attr, 16, (ulong)pl);
            Put32(attr, 24, 1); // log_level: the verifier explains a rejection
            Put32(attr, 28, (uint)log.Length);
            Put64(attr, 32, (ulong)plog);
            var n = System.Text.Encoding.ASCII.GetBytes(name.Length > 15 ? name[..15] : name);
            n.CopyTo(attr, 48); // prog_name[16]
            Put32(attr, 68, BPF_CGROUP_DEVICE); // expected_attach_type
            int fd = Bpf(BPF_PROG_LOAD, attr);
            if (fd < 0)
            {
                int e = Errno.Last;
                var text = System.Text.Encoding.ASCII.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim().Replace('\n', ' ');
                throw new CgroupException($"bpf(BPF_PROG_LOAD) device filter: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(e)}" +
                    (text.Length > 0 ? $" (verifier: {text})" : ""), e);
            }
            return fd;
        }
    }

    public static int Attach(int cgroupFd, int progFd, uint flags)
    {
        var attr = new byte[AttrSize];
        Put32(attr, 0, (uint)cgroupFd);
        Put32(attr, 4, (uint)progFd);
        Put32(attr, 8, BPF_CGROUP_DEVICE);
        Put32(attr, 12, flags);
        return Bpf(BPF_PROG_ATTACH, attr) < 0 ? Errno.Last : 0;
    }

    public static int Detach(int cgroupFd, int progFd)
    {
        var attr = new byte[AttrSize];
        Put32(attr, 0, (uint)cgroupFd);
        Put32(attr, 4, (uint)progFd);
        Put32(attr, 8, BPF_CGROUP_DEVICE);
        return Bpf(BPF_PROG_DETACH, attr) < 0 ? Errno.Last : 0;
    }

    /// <summary>IDs of the device programs attached directly to the cgroup (not inherited ones).</summary>
    public static uint[] QueryDevicePrograms(int cgroupFd)
    {
        var ids = new uint[64];
        var attr = new byte[AttrSize];
        fixed (uint* pid = ids)
        {
            Put32(attr, 0, (uint)cgroupFd);
            Put32(attr, 4, BPF_CGROUP_DEVICE);
            Put64(attr, 16, (ulong)pid);
            Put32(attr, 24, (uint)ids.Length);
            if (Bpf(BPF_PROG_QUERY, attr) < 0)
                throw new CgroupException($"bpf(BPF_PROG_QUERY): {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(Errno.Last)}", Errno.Last);
        }
        uint count = BitConverter.ToUInt32(attr, 24);
        return ids.Take((int)Math.Min(count, (uint)ids.Length)).ToArray();
    }

    public static int ProgramFdById(uint id)
    {
        var attr = new byte[AttrSize];
        Put32(attr, 0, id);
        return Bpf(BPF_PROG_GET_FD_BY_ID, attr);
    }

    private static void Put32(byte[] b, int at, uint v) => BitConverter.TryWriteBytes(b.AsSpan(at), v);
    private static void Put64(byte[] b, int at, ulong v) => BitConverter.TryWriteBytes(b.AsSpan(at), v);
}
