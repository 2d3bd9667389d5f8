using Berth.Images.Interop;
using Berth.Images.Layers;
using Microsoft.Win32.SafeHandles;

namespace Berth.Images.Snapshots;

/// <summary>File-tree operations the snapshotters share; none of them follows a symlink.</summary>
internal static class SnapshotFiles
{
    public static void RemoveTree(string path)
    {
        string parent = Path.GetDirectoryName(path)!;
        int pfd = FsCalls.open(parent, O.PATH | O.DIRECTORY | O.CLOEXEC, 0);
        if (pfd < 0) return;
        try
        {
            string name = Path.GetFileName(path);
            if (FsCalls.TryLstat(pfd, name, out var st)) LayerExtractor.RemoveAt(pfd, name, st);
        }
        finally { FsCalls.close(pfd); }
    }

    public static bool SyncFilesystem(string path)
    {
        int fd = FsCalls.open(path, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0);
        if (fd < 0) return false;
        bool ok = FsCalls.syncfs(fd) == 0;
        FsCalls.close(fd);
        return ok;
    }

    /// <summary>st_dev of a path (not following a final symlink); 0 when it cannot be read.</summary>
    public static unsafe ulong DeviceOf(string path)
    {
        FsCalls.StatBuf st;
        return FsCalls.fstatat(At.FDCWD, path, &st, At.SYMLINK_NOFOLLOW) == 0 ? st.Dev : 0;
    }

    public static long DiskUsage(string path)
    {
        long total = 0;
        var stack = new Stack<string>();
        stack.Push(path);
        while (stack.Count > 0)
        {
            var d = new DirectoryInfo(stack.Pop());
            foreach (var fsi in d.EnumerateFileSystemInfos())
            {
                if (fsi is FileInfo fi && fi.LinkTarget is null) total += fi.Length;
                else if (fsi is DirectoryInfo di && di.LinkTarget is null) stack.Push(di.FullName);
            }
        }
        return total;
    }

    /// <summary>Copies a tree with owners, modes, xattrs, times, hard links and device nodes (the native snapshotter's copy-up).</summary>
    public static void CopyTree(string source, string destination)
    {
        int s = FsCalls.Check(FsCalls.open(source, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0), $"open {source}");
        int d = FsCalls.Check(FsCalls.open(destination, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0), $"open {destination}");
        var links = new Dictionary<(ulong, ulong), string>();
        try
        {
            CopyDir(s, d, "", links);
            FsCalls.TryLstat(s, ".", out var rst);
            CopyMeta(s, ".", d, ".", rst, $"/proc/self/fd/{s}", $"/proc/self/fd/{d}");
        }
        finally { FsCalls.close(s); FsCalls.close(d); }
    }

    private static void CopyDir(int sfd, int dfd, string rel, Dictionary<(ulong, ulong), string> links)
    {
        foreach (var name in LayerExtractor.ListDir(sfd))
        {
            if (!FsCalls.TryLstat(sfd, name, out var st)) continue;
            string relPath = rel.Length == 0 ? name : rel + "/" + name;
            uint kind = st.Mode & FsCalls.S_IFMT;
            if (kind != FsCalls.S_IFDIR && st.Nlink > 1 && links.TryGetValue((st.Dev, st.Ino), out var first))
            {
                FsCalls.Check(FsCalls.linkat(At.FDCWD, first, dfd, name, 0), $"link {relPath}");
                continue;
            }
            switch (kind)
            {
                case FsCalls.S_IFDIR:
                {
                    FsCalls.Check(FsCalls.mkdirat(dfd, name, Mode.Rwx), $"mkdir {relPath}");
                    int cs = FsCalls.Check(FsCalls.openat(sfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0), $"open {relPath}");
                    int cd = FsCalls.Check(FsCalls.openat(dfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0), $"open {relPath}");
                    try
                    {
                        CopyDir(cs, cd, relPath, links);
                        CopyMeta(cs, ".", cd, ".", st, $"/proc/self/fd/{cs}", $"/proc/self/fd/{cd}");
                    }
                    finally { FsCalls.close(cs); FsCalls.close(cd); }
                    continue;
                }
                case FsCalls.S_IFREG:
                {
                    int src = FsCalls.Check(FsCalls.openat(sfd, name, O.RDONLY | O.NOFOLLOW | O.CLOEXEC, 0), $"open {relPath}");
                    int dst = FsCalls.Check(FsCalls.openat(dfd, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC, Mode.Rw), $"create {relPath}");
                    using (var sh = new FileStream(new SafeFileHandle(src, true), FileAccess.Read, 0))
                    using (var dh = new FileStream(new SafeFileHandle(dst, true), FileAccess.Write, 0))
                        sh.CopyTo(dh, 1 << 17);
                    break;
                }
                case FsCalls.S_IFLNK:
                    FsCalls.Check(FsCalls.symlinkat(FsCalls.ReadLinkAt(sfd, name), dfd, name), $"symlink {relPath}");
                    break;
                default:
                    FsCalls.Check(FsCalls.mknodat(dfd, name, st.Mode, st.Rdev), $"mknod {relPath}");
                    break;
            }
            CopyMeta(sfd, name, dfd, name, st, $"/proc/self/fd/{sfd}/{name}", $"/proc/self/fd/{dfd}/{name}");
            if (kind != FsCalls.S_IFDIR && st.Nlink > 1)
                links[(st.Dev, st.Ino)] = ResolveFdPath(dfd, name);
        }
    }

    private static string ResolveFdPath(int dfd, string name) =>
        Path.Combine(new DirectoryInfo($"/proc/self/fd/{dfd}").LinkTarget ?? throw new IOException("cannot resolve directory"), name);

    private static unsafe void CopyMeta(int sfd, string sname, int dfd, string dname, FsCalls.StatBuf st, string spath, string dpath)
    {
        uint kind = st.Mode & FsCalls.S_IFMT;
        FsCalls.fchownat(dfd, dname, st.Uid, st.Gid, At.SYMLINK_NOFOLLOW);
        if (kind != FsCalls.S_IFLNK) FsCalls.fchmodat(dfd, dname, st.Mode & 0xFFF, 0);
        foreach (var (k, v) in FsCalls.ListXattrs(spath))
            fixed (byte* p = v) FsCalls.lsetxattr(dpath, k, p, (nuint)v.Length, 0);
        FsCalls.Timespec* t = stackalloc FsCalls.Timespec[2];
        t[0] = st.Atime;
        t[1] = st.Mtime;
        FsCalls.utimensat(dfd, dname, t, At.SYMLINK_NOFOLLOW);
    }
}
