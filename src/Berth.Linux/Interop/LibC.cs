using System.Runtime.InteropServices;

namespace Berth.Linux.Interop;

/// <summary>
/// Raw libc entry points. Every call sets errno; callers check the result and throw
/// <see cref="LinuxException"/> through <see cref="Errno"/>. Syscalls glibc does not wrap
/// go through <c>syscall(2)</c> with x86_64 numbers from <see cref="SyscallNumbers"/>.
/// </summary>
public static unsafe partial class LibC
{
    private const string Lib = "libc";

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string? source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, uint mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int openat(int dirfd, string path, int flags, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dup3(int oldfd, int newfd, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, void* arg);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chdir(string path);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchdir(int fd);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chroot(string path);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdir(string path, uint mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdirat(int dirfd, string path, uint mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rmdir(string path);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlink(string path);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int symlink(string target, string linkpath);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int symlinkat(string target, int dirfd, string linkpath);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mknod(string path, uint mode, ulong dev);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mknodat(int dirfd, string path, uint mode, ulong dev);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlinkat(int dirfd, string path, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fchownat(int dirfd, string path, uint uid, uint gid, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fchmodat(int dirfd, string path, uint mode, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkfifo(string path, uint mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chown(string path, uint uid, uint gid);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchown(int fd, uint uid, uint gid);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lchown(string path, uint uid, uint gid);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chmod(string path, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchmod(int fd, uint mode);

    [LibraryImport(Lib)]
    public static partial uint umask(uint mask);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int sethostname(string name, nuint len);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int setdomainname(string name, nuint len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int unshare(int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setsid();

    [LibraryImport(Lib)]
    public static partial int getpid();

    [LibraryImport(Lib)]
    public static partial uint getuid();

    [LibraryImport(Lib)]
    public static partial uint geteuid();

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setrlimit(int resource, RLimit* rlim);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int prlimit(int pid, int resource, RLimit* newLimit, RLimit* oldLimit);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int execve(byte* path, byte** argv, byte** envp);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint sendfile(int outFd, int inFd, long* offset, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint sendmsg(int sockfd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint recvmsg(int sockfd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int connect(int fd, byte* addr, uint len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int posix_openpt(int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int grantpt(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int unlockpt(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ptsname_r(int fd, byte* buf, nuint len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int sigprocmask(int how, ulong* set, ulong* oldset);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint readlink(string path, byte* buf, nuint size);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint readlinkat(int dirfd, string path, byte* buf, nuint size);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fstatat(int dirfd, string path, Stat* buf, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fstat(int fd, Stat* buf);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statvfs(string path, byte* buf);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fstatvfs(int fd, byte* buf);

    /// <summary>The ST_* mount flags of the filesystem holding <paramref name="path"/> (they equal MS_* for the locked ones).</summary>
    public static ulong MountFlags(string path)
    {
        byte* buf = stackalloc byte[128];
        if (statvfs(path, buf) < 0) throw new LinuxException(Errno.Last, $"statvfs {path}");
        ulong st = *(ulong*)(buf + 72);
        // ST_RELATIME (4096) is MS_RELATIME (1 << 21) in mount(2) terms.
        ulong ms = st & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.SYNCHRONOUS | MS.MANDLOCK | MS.NOATIME | MS.NODIRATIME);
        if ((st & 4096) != 0) ms |= MS.RELATIME;
        return ms;
    }

    public static ulong MakeDev(long major, long minor) =>
        (((ulong)major & 0xfffff000UL) << 32) | (((ulong)major & 0xfffUL) << 8) |
        (((ulong)minor & 0xffffff00UL) << 12) | ((ulong)minor & 0xffUL);

    // Thin wrappers for syscalls without a glibc 2.36 wrapper.
    public static int pivot_root(string newRoot, string putOld)
    {
        fixed (byte* a = Utf8(newRoot)) fixed (byte* b = Utf8(putOld))
            return (int)syscall(SyscallNumbers.PivotRoot, (long)a, (long)b, 0, 0, 0, 0);
    }

    /// <summary>
    /// openat2(2), retried on EAGAIN: with RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel refuses a ".."
    /// step whenever any rename or mount happened on the system meanwhile (it cannot then prove the
    /// step stayed inside), so on a busy host a lookup through "../" fails now and then for no fault of
    /// its own. The kernel's advice is to try again.
    /// </summary>
    public static int openat2(int dirfd, string path, OpenHow* how)
    {
        fixed (byte* p = Utf8(path))
        {
            for (int tries = 1; ; tries++)
            {
                int fd = (int)syscall(SyscallNumbers.Openat2, dirfd, (long)p, (long)how, sizeof(OpenHow), 0, 0);
                if (fd >= 0 || tries == Openat2Tries || Errno.Last != Errno.EAGAIN) return fd;
            }
        }
    }

    /// <summary>How often a scoped openat2 is tried before its EAGAIN is reported (each try costs a few µs).</summary>
    public const int Openat2Tries = 1000;

    public static int close_range(uint first, uint last, uint flags) =>
        (int)syscall(SyscallNumbers.CloseRange, first, last, flags, 0, 0, 0);

    public static int pidfd_open(int pid, uint flags) =>
        (int)syscall(SyscallNumbers.PidfdOpen, pid, flags, 0, 0, 0, 0);

    public static int pidfd_send_signal(int pidfd, int sig) =>
        (int)syscall(SyscallNumbers.PidfdSendSignal, pidfd, sig, 0, 0, 0, 0);

    public static int capget(CapUserHeader* hdr, CapUserData* data) =>
        (int)syscall(SyscallNumbers.Capget, (long)hdr, (long)data, 0, 0, 0, 0);

    public static int capset(CapUserHeader* hdr, CapUserData* data) =>
        (int)syscall(SyscallNumbers.Capset, (long)hdr, (long)data, 0, 0, 0, 0);

    // Credentials of the calling thread only, as the kernel keeps them. glibc's setresuid,
    // setresgid and setgroups also apply the change to every other thread (the setxid broadcast:
    // a signal to each and a wait for its answer, ~0.3 ms each here). The container's init needs
    // only the thread that execs: execve ends the others (and mm-wide dumpable drops with any
    // change of euid), so these are enough there, and cheaper.
    public static int setresuid_thread(uint ruid, uint euid, uint suid) =>
        (int)syscall(SyscallNumbers.Setresuid, ruid, euid, suid, 0, 0, 0);

    public static int setresgid_thread(uint rgid, uint egid, uint sgid) =>
        (int)syscall(SyscallNumbers.Setresgid, rgid, egid, sgid, 0, 0, 0);

    public static int setgroups_thread(nuint size, uint* list) =>
        (int)syscall(SyscallNumbers.Setgroups, (long)size, (long)list, 0, 0, 0, 0);

    /// <summary>Sets mount attributes of one mount, or with AT_RECURSIVE of a whole tree, in one call (Linux 5.12).</summary>
    public static int mount_setattr(int dirfd, string path, uint flags, ulong attrSet)
    {
        var attr = new MountAttrArgs { AttrSet = attrSet };
        fixed (byte* p = Utf8(path))
            return (int)syscall(SyscallNumbers.MountSetattr, dirfd, (long)p, flags, (long)&attr, sizeof(MountAttrArgs), 0);
    }

    public static int seccomp(uint op, uint flags, void* args) =>
        (int)syscall(SyscallNumbers.Seccomp, op, flags, (long)args, 0, 0, 0);

    public static byte[] Utf8(string s)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}

public static class SyscallNumbers
{
    // x86_64
    public const long Setgroups = 116, Setresuid = 117, Setresgid = 119, Capget = 125, Capset = 126, PivotRoot = 155, Seccomp = 317,
        PidfdSendSignal = 424, PidfdOpen = 434, CloseRange = 436, Openat2 = 437, MountSetattr = 442;
}

[StructLayout(LayoutKind.Sequential)]
public struct RLimit { public ulong Cur; public ulong Max; }

[StructLayout(LayoutKind.Sequential)]
public struct MountAttrArgs { public ulong AttrSet; public ulong AttrClr; public ulong Propagation; public ulong UsernsFd; }

[StructLayout(LayoutKind.Sequential)]
public struct OpenHow { public ulong Flags; public ulong Mode; public ulong Resolve; }

[StructLayout(LayoutKind.Sequential)]
public struct CapUserHeader { public uint Version; public int Pid; }

[StructLayout(LayoutKind.Sequential)]
public struct CapUserData { public uint Effective; public uint Permitted; public uint Inheritable; }

[StructLayout(LayoutKind.Sequential)]
public struct PollFd { public int Fd; public short Events; public short Revents; }

[StructLayout(LayoutKind.Sequential)]
public unsafe struct IoVec { public void* Base; public nuint Len; }

[StructLayout(LayoutKind.Sequential)]
public unsafe struct MsgHdr
{
    public void* Name; public uint NameLen;
    public IoVec* Iov; public nuint IovLen;
    public void* Control; public nuint ControlLen;
    public int Flags;
}

// struct stat on x86_64.
[StructLayout(LayoutKind.Sequential)]
public struct Stat
{
    public ulong Dev; public ulong Ino; public ulong Nlink;
    public uint Mode; public uint Uid; public uint Gid; private int _pad0;
    public ulong Rdev; public long Size; public long Blksize; public long Blocks;
    public long Atime; public long AtimeNsec; public long Mtime; public long MtimeNsec; public long Ctime; public long CtimeNsec;
    private long _r0, _r1, _r2;
}
