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
    /// </summary>
    public int OpenOrCreate(string path, bool directory, uint mode = 0755)
    {
        int fd = TryOpen(path);
        if (fd >= 0) return fd;
        if (fd != -Errno.ENOENT) throw new LinuxException(-fd, $"resolve {path} in {RootPath}");

        string rel = Relative(path);
        string parentRel = Path.GetDirectoryName(rel) ?? "";
        string name = Path.GetFileName(rel);
        int parent = parentRel.Length == 0 ? Dup(RootFd) : OpenOrCreate(parentRel, true);
        try
        {
            // The parent is already resolved inside the root; the new entry is a plain name.
            if (directory)
            {
                if (LibC.mkdirat(parent, name, mode) < 0 && Errno.Last != Errno.EEXIST)
                    throw new LinuxException(Errno.Last, $"mkdir {path} in {RootPath}");
            }
            else
            {
                int f = LibC.openat(parent, name, O.CREAT | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0644);
                if (f < 0 && Errno.Last != Errno.EEXIST) throw new LinuxException(Errno.Last, $"create {path} in {RootPath}");
                if (f >= 0) LibC.close(f);
            }
        }
        finally { LibC.close(parent); }

        fd = TryOpen(path);
        if (fd < 0) throw new LinuxException(-fd, $"resolve {path} in {RootPath}");
        return fd;
    }

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
