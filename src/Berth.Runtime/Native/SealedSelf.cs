using Berth.Linux;
using Berth.Linux.Interop;

namespace Berth.Runtime.Native;

/// <summary>
/// A sealed in-memory copy of the runtime binary, which is what the container's init
/// executes. A process inside the container that reaches it through /proc/PID/exe finds a
/// memfd that cannot be written, never the binary on the host (CVE-2019-5736).
/// </summary>
internal static unsafe class SealedSelf
{
    private const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
    private const int F_ADD_SEALS = 1033, F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8;

    public static int Create()
    {
        int src = Errno.Check(LibC.open("/proc/self/exe", O.RDONLY | O.CLOEXEC, 0), "open /proc/self/exe");
        try
        {
            Stat st;
            Errno.Check(LibC.fstat(src, &st), "stat /proc/self/exe");
            int mfd = Errno.Check(LibC.memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING), "memfd_create");
            long left = st.Size;
            while (left > 0)
            {
                nint n = LibC.sendfile(mfd, src, null, (nuint)Math.Min(left, 1 << 30));
                if (n < 0) { if (Errno.Last == Errno.EINTR) continue; int e = Errno.Last; LibC.close(mfd); throw new LinuxException(e, "copying the runtime binary"); }
                if (n == 0) break;
                left -= n;
            }
            if (LibC.fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
            {
                int e = Errno.Last; LibC.close(mfd); throw new LinuxException(e, "sealing the runtime binary");
            }
            return mfd;
        }
        finally { LibC.close(src); }
    }
}
