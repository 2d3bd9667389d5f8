using System.Runtime.InteropServices;



namespace Berth.Images.Interop;

/// <summary>
/// The libc and raw syscalls the image code needs: *at calls that never follow a symlink,
/// openat2 with RESOLVE_IN_ROOT for every path inside a snapshot, xattrs, the new mount API.
/// x86_64 syscall numbers; struct layouts for x86_64 glibc.
/// </summary>
internal static unsafe partial class FsCalls
{
    private const string Lib = "libc";

    private const long SysOpenat2 = 437, SysFsopen = 430, SysFsconfig = 431, SysFsmount = 432, SysMoveMount = 429;

    [StructLayout(LayoutKind.Sequential)]
    public struct OpenHow { public ulong Flags; public ulong Mode; public ulong Resolve; }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec { public long Sec; public long Nsec; }

    [StructLayout(LayoutKind.Sequential)]
    public struct StatBuf
    {
        public ulong Dev; public ulong Ino; public ulong Nlink; public uint Mode; public uint Uid; public uint Gid;
        private int _pad; public ulong Rdev; public long Size; public long Blksize; public long Blocks;
        public Timespec Atime; public Timespec Mtime; public Timespec Ctime; private long _r1, _r2, _r3;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct StatFsBuf
    {
        public long Type; public long Bsize; public ulong Blocks; public ulong Bfree; public ulong Bavail;
        public ulong Files; public ulong Ffree; public long Fsid; public long Namelen; public long Frsize;
        public long Flags; private long _s1, _s2, _s3, _s4;
    }

    [LibraryImport(Lib, SetLastError = true)]
    private static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int openat(int dirfd, string path, int flags, uint mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint pwrite(int fd, byte* buf, nuint count, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    public const int F_GETFL = 3, F_SETFL = 4;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdirat(int dirfd, string path, uint mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mknodat(int dirfd, string path, uint mode, ulong dev);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int symlinkat(string target, int dirfd, string linkpath);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int linkat(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlinkat(int dirfd, string path, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int renameat(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fchownat(int dirfd, string path, uint uid, uint gid, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fchmodat(int dirfd, string path, uint mode, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchmod(int fd, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchown(int fd, uint uid, uint gid);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int utimensat(int dirfd, string path, Timespec* times, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int futimens(int fd, Timespec* times);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fstatat(int dirfd, string path, StatBuf* buf, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statfs(string path, StatFsBuf* buf);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint readlinkat(int dirfd, string path, byte* buf, nuint size);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lsetxattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fsetxattr(int fd, string name, byte* value, nuint size, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint llistxattr(string path, byte* list, nuint size);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint lgetxattr(string path, string name, byte* value, nuint size);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int syncfs(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string? source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    [LibraryImport(Lib)]
    public static partial uint geteuid();

    [LibraryImport(Lib)]
    public static partial uint getegid();

    /// <summary>The process's umask, read without changing it (/proc/self/status); null when unknown.</summary>
    public static uint? ReadUmask()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("Umask:", StringComparison.Ordinal))
                    return Convert.ToUInt32(line[6..].Trim(), 8);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { }
        return null;
    }

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int ioctl(int fd, ulong request, int* arg);

    private const ulong FS_IOC_GETFLAGS = 0x80086601, FS_IOC_SETFLAGS = 0x40086602;
    private const int FS_TOPDIR_FL = 0x00020000;

    /// <summary>
    /// Sets the ext2/3/4 "top of directory hierarchy" flag (chattr +T) on a directory, so that the
    /// kernel's Orlov allocator spreads directories made in it over block groups, each new directory
    /// (and the files made in it) in a group of its own with free inodes. False where the filesystem
    /// has no such flag (tmpfs, xfs, btrfs, overlayfs): it is only ever a hint.
    /// </summary>
    public static bool TrySetTopDirectory(string dir)
    {
        int fd = open(dir, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0);
        if (fd < 0) return false;
        try
        {
            int flags = 0;
            if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return false;
            if ((flags & FS_TOPDIR_FL) != 0) return true;
            flags |= FS_TOPDIR_FL;
            return ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
        }
        finally { close(fd); }
    }

    public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000,
        S_IFBLK = 0x6000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;
    public const long UTIME_OMIT = (1L << 30) - 2;
    public const long OverlayFsMagic = 0x794c7630;

    /// <summary>
    /// openat2(2): resolves <paramref name="path"/> with the given RESOLVE_* flags, retried on EAGAIN,
    /// which a scoped ".." step gets whenever a rename or mount anywhere raced it (see Berth.Linux's LibC.openat2).
    /// </summary>
    public static int Openat2(int dirfd, string path, ulong flags, ulong resolve, ulong mode = 0)
    {
        var how = new OpenHow { Flags = flags, Mode = mode, Resolve = resolve };
        byte[] p = Utf8Z(path);
        fixed (byte* pp = p)
        {
            for (int tries = 1; ; tries++)
            {
                int fd = (int)syscall(SysOpenat2, dirfd, (long)pp, (long)&how, sizeof(OpenHow), 0, 0);
                if (fd >= 0 || tries == 1000 || LastErrno != Errno.EAGAIN) return fd;
            }
        }
    }

    public static int Fsopen(string fsName, uint flags)
    {
        byte[] n = Utf8Z(fsName);
        fixed (byte* np = n) return (int)syscall(SysFsopen, (long)np, flags, 0, 0, 0, 0);
    }

    public const uint FSCONFIG_SET_FLAG = 0, FSCONFIG_SET_STRING = 1, FSCONFIG_CMD_CREATE = 6;

    public static int Fsconfig(int fd, uint cmd, string? key, string? value, int aux)
    {
        byte[]? k = key is null ? null : Utf8Z(key);
        byte[]? v = value is null ? null : Utf8Z(value);
        fixed (byte* kp = k) fixed (byte* vp = v)
            return (int)syscall(SysFsconfig, fd, cmd, (long)kp, (long)vp, aux, 0);
    }

    public static int Fsmount(int fd, uint flags, uint attrFlags) => (int)syscall(SysFsmount, fd, flags, attrFlags, 0, 0, 0);

    public const uint MOVE_MOUNT_F_EMPTY_PATH = 0x4;

    public static int MoveMount(int fromFd, string fromPath, int toDirFd, string toPath, uint flags)
    {
        byte[] f = Utf8Z(fromPath), t = Utf8Z(toPath);
        fixed (byte* fp = f) fixed (byte* tp = t)
            return (int)syscall(SysMoveMount, fromFd, (long)fp, toDirFd, (long)tp, flags, 0);
    }

    public static byte[] Utf8Z(string s)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(s);
        var b = new byte[n + 1];
        System.Text.Encoding.UTF8.GetBytes(s, b);
        return b;
    }

    public static int Check(int rc, string what)
    {
        if (rc < 0) throw new SystemCallException(Marshal.GetLastPInvokeError(), what);
        return rc;
    }

    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>lstat relative to a directory fd; false when the entry does not exist.</summary>
    public static bool TryLstat(int dirfd, string name, out StatBuf st)
    {
        StatBuf s;
        int rc = fstatat(dirfd, name, &s, At.SYMLINK_NOFOLLOW);
        st = s;
        if (rc == 0) return true;
        int e = LastErrno;
        if (e == Errno.ENOENT || e == Errno.ENOTDIR) return false;
        throw new SystemCallException(e, $"lstat {name}");
    }

    public static void WriteAll(int fd, ReadOnlySpan<byte> data, string what)
    {
        fixed (byte* p = data)
        {
            int off = 0;
            while (off < data.Length)
            {
                nint n = write(fd, p + off, (nuint)(data.Length - off));
                if (n < 0)
                {
                    if (LastErrno == Errno.EINTR) continue;
                    throw new SystemCallException(LastErrno, what);
                }
                off += (int)n;
            }
        }
    }

    public static void SetXattr(int fd, string name, ReadOnlySpan<byte> value, string what)
    {
        fixed (byte* p = value)
            Check(fsetxattr(fd, name, p, (nuint)value.Length, 0), what);
    }

    public static void LSetXattr(string path, string name, ReadOnlySpan<byte> value, string what)
    {
        fixed (byte* p = value)
            Check(lsetxattr(path, name, p, (nuint)value.Length, 0), what);
    }

    public static string ReadLinkAt(int dirfd, string name)
    {
        var buf = new byte[4096];
        fixed (byte* p = buf)
        {
            nint n = readlinkat(dirfd, name, p, (nuint)buf.Length);
            if (n < 0) throw new SystemCallException(LastErrno, $"readlink {name}");
            return System.Text.Encoding.UTF8.GetString(buf, 0, (int)n);
        }
    }

    /// <summary>All extended attributes of a path (not following a final symlink).</summary>
    public static List<KeyValuePair<string, byte[]>> ListXattrs(string path)
    {
        var result = new List<KeyValuePair<string, byte[]>>();
        nint size = llistxattr(path, null, 0);
        if (size <= 0) return result;
        var names = new byte[size];
        fixed (byte* np = names) size = llistxattr(path, np, (nuint)names.Length);
        if (size <= 0) return result;
        foreach (var name in System.Text.Encoding.UTF8.GetString(names, 0, (int)size).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            nint vs = lgetxattr(path, name, null, 0);
            if (vs < 0) continue;
            var val = new byte[vs];
            fixed (byte* vp = val) vs = lgetxattr(path, name, vp, (nuint)val.Length);
            if (vs < 0) continue;
            result.Add(new(name, val.AsSpan(0, (int)vs).ToArray()));
        }
        return result;
    }

    public static bool IsOverlay(string path)
    {
        StatFsBuf b;
        if (statfs(path, &b) != 0) return false;
        return b.Type == OverlayFsMagic;
    }
}
