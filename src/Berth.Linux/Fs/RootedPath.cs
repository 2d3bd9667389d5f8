using Berth.Linux.Interop;

namespace Berth.Linux.Fs;

/// <summary>
/// Resolves paths inside a root directory the way the container will see them: every
/// symlink (absolute or with "..") is resolved with the root as "/", so nothing a
/// container image contains can point a mount, a device or a file outside its rootfs
/// (CVE-2021-30465 class). Backed by openat2(RESOLVE_IN_ROOT).
/// </summary>
public sealed unsafe class RootedPath : IDisposable
{
    public int RootFd { get; }
    public string RootPath { get; }

    public RootedPath(string rootPath)
    {
        RootPath = rootPath;
        RootFd = Errno.Check(LibC.open(rootPath, O.PATH | O.DIRECTORY | O.CLOEXEC, 0), $"open {rootPath}");
    }

    /// <summary>Opens <paramref name="path"/> (container view) as an O_PATH fd, or returns -errno.</summary>
    public int TryOpen(string path, int extraFlags = 0)
    {
        var how = new OpenHow { Flags = (ulong)(O.PATH | O.CLOEXEC | extraFlags), Resolve = Resolve.IN_ROOT | Resolve.NO_MAGICLINKS };
        int fd = LibC.openat2(RootFd, Relative(path), &how);
        return fd < 0 ? -Errno.Last : fd;
    }

    /// <summary>
    /// Makes sure <paramref name="path"/> exists inside the root (directories created as needed,
    /// the last component as a directory or an empty file) and returns an O_PATH fd to it.
    /// Symlinks met on the way — dangling ones included — are followed by hand with the root as
    /// "/", one component at a time from directory fds, so nothing is ever created outside.
    /// </summary>
    public int OpenOrCreate(string path, bool directory, uint mode = 0x1ed /* 0755 */)
    {
        int fd = TryOpen(path);
        if (fd >= 0) return fd;
        if (fd != -Errno.ENOENT) throw new LinuxException(-fd, $"resolve {path} in {RootPath}");
        return CreateInExistingParent(path, directory, mode) ?? Walk(path, directory, mode);
    }

    /// <summary>
    /// The common case (a mount point missing in an existing directory, /dev/pts or
    /// /sys/fs/cgroup/memory): the parent resolved in the root, the last component made in it,
    /// in 4 calls instead of a walk's 3 per level. Null when the walk must do it: the parent is
    /// missing too, or the name exists and is a dangling symlink (the walk follows it).
    /// </summary>
    private int? CreateInExistingParent(string path, bool directory, uint mode)
    {
        string[] parts = Split(path).ToArray();
        if (parts.Length == 0 || parts[^1] is "." or "..") return null;
        string name = parts[^1];
        int parent = TryOpen(string.Join('/', parts[..^1]), O.DIRECTORY);
        if (parent < 0) return null;
        try
        {
            if (directory)
            {
                if (LibC.mkdirat(parent, name, mode) < 0) return Errno.Last == Errno.EEXIST ? null : throw new LinuxException(Errno.Last, $"mkdir {path} in {RootPath}");
            }
            else
            {
                int f = LibC.openat(parent, name, O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0x1a4 /* 0644 */);
                if (f < 0) return Errno.Last == Errno.EEXIST ? null : throw new LinuxException(Errno.Last, $"create {path} in {RootPath}");
                LibC.close(f);
            }
            int fd = LibC.openat(parent, name, O.PATH | O.NOFOLLOW | O.CLOEXEC, 0);
            if (fd < 0) throw new LinuxException(Errno.Last, $"open {path} in {RootPath}");
            return fd;
        }
        finally { LibC.close(parent); }
    }

    private const int MaxSymlinks = 40;

    private int Walk(string path, bool directory, uint mode)
    {
        var pending = new Stack<string>(Split(path).Reverse());
        var dirs = new List<int> { Dup(RootFd) }; // the chain of directories from the root
        int links = 0;
        try
        {
            while (pending.Count > 0)
            {
                string name = pending.Pop();
                bool last = pending.Count == 0;
                int cur = dirs[^1];
                if (name == ".") continue;
                if (name == "..")
                {
                    if (dirs.Count > 1) { LibC.close(dirs[^1]); dirs.RemoveAt(dirs.Count - 1); }
                    continue;
                }
                Stat st;
                if (LibC.fstatat(cur, name, &st, At.SYMLINK_NOFOLLOW | At.EMPTY_PATH) < 0)
                {
                    if (Errno.Last != Errno.ENOENT) throw new LinuxException(Errno.Last, $"stat {path} in {RootPath}");
                    if (!last || directory)
                    {
                        if (LibC.mkdirat(cur, name, mode) < 0 && Errno.Last != Errno.EEXIST)
                            throw new LinuxException(Errno.Last, $"mkdir {path} in {RootPath}");
                    }
                    else
                    {
                        int f = LibC.openat(cur, name, O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0x1a4 /* 0644 */);
                        if (f < 0 && Errno.Last != Errno.EEXIST) throw new LinuxException(Errno.Last, $"create {path} in {RootPath}");
                        if (f >= 0) LibC.close(f);
                    }
                    pending.Push(name); // look again: it exists now
                    continue;
                }
                if ((st.Mode & 0xF000) == 0xA000) // a symlink: splice its target into the walk
                {
                    if (++links > MaxSymlinks) throw new LinuxException(Errno.ELOOP, $"resolve {path} in {RootPath}");
                    string target = ReadLink(cur, name);
                    foreach (var part in Split(target).Reverse()) pending.Push(part);
                    if (target.StartsWith('/'))
                    {
                        for (int i = dirs.Count - 1; i > 0; i--) LibC.close(dirs[i]);
                        dirs.RemoveRange(1, dirs.Count - 1);
                    }
                    continue;
                }
                bool isDir = (st.Mode & 0xF000) == 0x4000;
                if (!last && !isDir) throw new LinuxException(Errno.ENOTDIR, $"resolve {path} in {RootPath}");
                int next = LibC.openat(cur, name, O.PATH | O.NOFOLLOW | O.CLOEXEC, 0);
                if (next < 0) throw new LinuxException(Errno.Last, $"open {path} in {RootPath}");
                dirs.Add(next);
            }
            int result = dirs[^1];
            dirs.RemoveAt(dirs.Count - 1);
            return result;
        }
        finally
        {
            foreach (var d in dirs) LibC.close(d);
        }
    }

    private static string ReadLink(int dirfd, string name)
    {
        byte* buf = stackalloc byte[4096];
        nint n = LibC.readlinkat(dirfd, name, buf, 4096);
        if (n < 0) throw new LinuxException(Errno.Last, $"readlink {name}");
        return System.Text.Encoding.UTF8.GetString(buf, (int)n);
    }

    private static IEnumerable<string> Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The host path the kernel gives an fd (for messages and for mount via /proc/self/fd).</summary>
    public static string FdPath(int fd) => $"/proc/self/fd/{fd}";

    public static string Relative(string path)
    {
        string p = path.TrimStart('/');
        return p.Length == 0 ? "." : p;
    }

    private static int Dup(int fd) => Errno.Check(LibC.fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 0), "dup");

    public void Dispose() => LibC.close(RootFd);
}
