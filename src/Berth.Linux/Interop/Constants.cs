namespace Berth.Linux.Interop;

/// <summary>Linux constants (x86_64 values) used across Berth.</summary>
public static class O
{
    public const int RDONLY = 0, WRONLY = 1, RDWR = 2, CREAT = 0x40, EXCL = 0x80, NOCTTY = 0x100,
        TRUNC = 0x200, APPEND = 0x400, NONBLOCK = 0x800, DIRECTORY = 0x10000, NOFOLLOW = 0x20000,
        CLOEXEC = 0x80000, PATH = 0x200000;
}

public static class At
{
    public const int FDCWD = -100, SYMLINK_NOFOLLOW = 0x100, REMOVEDIR = 0x200, EMPTY_PATH = 0x1000, RECURSIVE = 0x8000;
}

/// <summary>mount_setattr(2) attributes (MOUNT_ATTR_*).</summary>
public static class MountAttr
{
    public const ulong RDONLY = 1, NOSUID = 2, NODEV = 4, NOEXEC = 8;
}

public static class Resolve
{
    public const ulong NO_XDEV = 0x01, NO_MAGICLINKS = 0x02, NO_SYMLINKS = 0x04, BENEATH = 0x08, IN_ROOT = 0x10;
}

public static class MS
{
    public const ulong RDONLY = 1, NOSUID = 2, NODEV = 4, NOEXEC = 8, SYNCHRONOUS = 16, REMOUNT = 32,
        MANDLOCK = 64, DIRSYNC = 128, NOSYMFOLLOW = 256, NOATIME = 1024, NODIRATIME = 2048, BIND = 4096,
        MOVE = 8192, REC = 16384, SILENT = 32768, UNBINDABLE = 1 << 17, PRIVATE = 1 << 18, SLAVE = 1 << 19,
        SHARED = 1 << 20, RELATIME = 1 << 21, STRICTATIME = 1 << 24, LAZYTIME = 1 << 25;
}

public static class MNT
{
    public const int FORCE = 1, DETACH = 2, EXPIRE = 4, NOFOLLOW = 8;
}

public static class CLONE
{
    public const int NEWTIME = 0x80, NEWNS = 0x20000, NEWCGROUP = 0x02000000, NEWUTS = 0x04000000,
        NEWIPC = 0x08000000, NEWUSER = 0x10000000, NEWPID = 0x20000000, NEWNET = 0x40000000;
}

public static class PR
{
    public const int SET_PDEATHSIG = 1, GET_DUMPABLE = 3, SET_DUMPABLE = 4, SET_KEEPCAPS = 8, SET_NAME = 15,
        CAPBSET_READ = 23, CAPBSET_DROP = 24, SET_SECUREBITS = 28, SET_CHILD_SUBREAPER = 36,
        SET_NO_NEW_PRIVS = 38, GET_NO_NEW_PRIVS = 39, CAP_AMBIENT = 47;
    public const int CAP_AMBIENT_RAISE = 2, CAP_AMBIENT_CLEAR_ALL = 4;
}

public static class Sig
{
    public const int HUP = 1, INT = 2, QUIT = 3, KILL = 9, USR1 = 10, TERM = 15, CHLD = 17, CONT = 18, STOP = 19;
}

public static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10, EAGAIN = 11,
        EACCES = 13, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOSPC = 28,
        ENODEV = 19, EROFS = 30, EPIPE = 32, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40;

    public static int Last => System.Runtime.InteropServices.Marshal.GetLastPInvokeError();

    /// <summary>Throws a LinuxException naming the operation when <paramref name="rc"/> is negative.</summary>
    public static int Check(int rc, string what)
    {
        if (rc < 0) throw new LinuxException(Last, what);
        return rc;
    }

    public static long Check(long rc, string what)
    {
        if (rc < 0) throw new LinuxException(Last, what);
        return rc;
    }
}
