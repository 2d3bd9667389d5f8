using System.Buffers;
using System.Text;
using Berth.Images.Interop;
using Berth.Images.Store;



namespace Berth.Images.Layers;

/// <summary>How whiteouts in a layer are written.</summary>
public enum WhiteoutMode
{
    /// <summary>As overlayfs whiteouts: a 0/0 character device, and <c>trusted.overlay.opaque=y</c> on opaque directories.</summary>
    Overlay,
    /// <summary>Applied to the tree below: the whited-out path is removed (for the copy-based snapshotter).</summary>
    Apply,
    /// <summary>Not a layer (docker cp): <c>.wh.</c> names are ordinary files.</summary>
    None,
}

/// <summary>What an extraction did.</summary>
/// <param name="ImplicitDirectories">Parent directories the tar did not list, which the extraction made (0755 root).</param>
public sealed record ExtractResult(long Entries, long FileBytes, IReadOnlyList<string> ImplicitDirectories);

/// <summary>
/// Applies an uncompressed layer tar to a snapshot directory. Every path is resolved inside
/// the snapshot with openat2(RESOLVE_IN_ROOT): a symlink in the layer (or below it) can only
/// lead to another place inside the snapshot, <c>..</c> stops at its root. Entries that would
/// climb out (<c>../</c>) are refused; absolute names and link targets are taken relative to
/// the root. Ownership, modes (setuid included), xattrs, hard links, device nodes (as root)
/// and timestamps are kept.
/// </summary>
public sealed class LayerExtractor
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";
    private const string OverlayOpaqueXattr = "trusted.overlay.opaque";

    private readonly string _root;
    private readonly WhiteoutMode _mode;
    private readonly bool _isRoot = FsCalls.geteuid() == 0;
    private readonly List<string> _implicit = [];
    // Directories that existed before this layer and that it changes without listing them: their times are put back.
    private readonly Dictionary<string, (FsCalls.Timespec A, FsCalls.Timespec M)> _existingTimes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seenParents = new(StringComparer.Ordinal);

    public LayerExtractor(string root, WhiteoutMode mode)
    {
        _root = root;
        _mode = mode;
        // A new file gets exactly the create mode minus the umask, and our uid and gid (the parent's gid
        // when it is setgid) - unless a default ACL decides instead. Overlay layers start empty, so when
        // their root has no default ACL, a regular file made here needs fchown/fchmod only when the tar's
        // values differ from those (until the layer sets an ACL itself).
        _umask = FsCalls.ReadUmask();
        _freshMetadataKnown = mode == WhiteoutMode.Overlay && _umask is not null && !HasDefaultAcl(root);
    }

    private readonly uint _euid = FsCalls.geteuid(), _egid = FsCalls.getegid();
    private readonly uint? _umask;
    private bool _freshMetadataKnown;
    private const string DefaultAclXattr = "system.posix_acl_default";

    private static unsafe bool HasDefaultAcl(string dir) =>
        FsCalls.lgetxattr(dir, DefaultAclXattr, null, 0) >= 0 || FsCalls.LastErrno != Errno.ENODATA;

    /// <summary>Every entry gets this owner instead of the tar's (docker cp without -a: the container's root).</summary>
    public (uint Uid, uint Gid)? Owner { get; init; }

    /// <summary>Refuse to replace a directory with a non-directory or the other way round (docker cp's noOverwriteDirNonDir).</summary>
    public bool NoReplaceDirWithNonDir { get; init; }

    /// <summary>
    /// Files at least this large are written past the page cache (<see cref="DirectWriter"/>): the layer is
    /// synced to disk before it is recorded anyway, and the copy into fresh page-cache pages is what a
    /// large file costs most. Smaller ones would pay a synchronous disk write each.
    /// </summary>
    public const long DirectWriteMinimum = 1 << 20;

    private DirectWriter? _direct;

    private long WriteThrough(int fd, string path, TarReader reader)
    {
        _direct ??= new DirectWriter(1 << 20);
        _direct.Begin(fd, path);
        int n;
        while ((n = reader.ReadData(_direct.Free)) > 0) _direct.Advance(n);
        return _direct.Finish();
    }

    public ExtractResult Extract(Stream tar)
    {
        int rootFd = FsCalls.Check(FsCalls.open(_root, O.PATH | O.DIRECTORY | O.CLOEXEC, 0), $"open {_root}");
        var dirTimes = new List<(string Path, TarEntry Entry)>();
        var created = new HashSet<string>(StringComparer.Ordinal);
        var opaque = new List<string>();
        long entries = 0, bytes = 0;
        byte[] buf = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            var reader = new TarReader(tar);
            while (reader.Next() is { } e)
            {
                entries++;
                if (Owner is { } owner) { e.Uid = owner.Uid; e.Gid = owner.Gid; }
                string path = SnapshotPath.Clean(e.Name);
                var (parent, name) = SnapshotPath.Split(path);

                if (_mode != WhiteoutMode.None && name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
                {
                    Whiteout(rootFd, parent, name, e.Name, created, opaque);
                    continue;
                }
                created.Add(path);
                if (path.Length == 0)
                {
                    // The root directory itself ("./"): only its metadata.
                    if (e.Type != TarEntryType.Directory) throw new ImageException($"layer entry \"{e.Name}\" replaces the root directory with a non-directory");
                    dirTimes.Add(("", e));
                    ForgetParent(); // the root's mode may change (setgid): a cached root is looked at again
                    int fd = FsCalls.Check(FsCalls.Openat2(rootFd, ".", (ulong)(O.RDONLY | O.DIRECTORY | O.CLOEXEC), Resolve.IN_ROOT | Resolve.NO_MAGICLINKS), "open root");
                    try { SetOwnerModeXattrs(fd, e); } finally { FsCalls.close(fd); }
                    continue;
                }

                int parentFd = CachedParent(rootFd, parent, e.Name);
                bytes += CreateEntry(rootFd, parentFd, name, path, e, reader, buf, dirTimes);
            }
            ForgetParent();

            if (_mode == WhiteoutMode.Apply)
                foreach (var dir in opaque) ClearBelow(rootFd, dir, created);

            var listed = new HashSet<string>(dirTimes.Select(d => d.Path), StringComparer.Ordinal);
            foreach (var (dir, (a, m)) in _existingTimes)
            {
                if (listed.Contains(dir)) continue;
                int dfd = TryOpenDir(rootFd, dir);
                if (dfd < 0) continue;
                try { RestoreTimes(dfd, a, m); } finally { FsCalls.close(dfd); }
            }

            // Directory times last, deepest first, so creating children does not change them.
            for (int i = dirTimes.Count - 1; i >= 0; i--)
            {
                var (p, de) = dirTimes[i];
                var (dp, dn) = SnapshotPath.Split(p);
                if (p.Length == 0) { SetTimesAt(rootFd, ".", de); continue; }
                int pfd = TryOpenDir(rootFd, dp);
                if (pfd < 0) continue; // removed by a later whiteout
                try { SetTimesAt(pfd, dn, de); } finally { FsCalls.close(pfd); }
            }
        }
        finally
        {
            ForgetParent();
            _direct?.Dispose();
            _direct = null;
            ArrayPool<byte>.Shared.Return(buf);
            FsCalls.close(rootFd);
        }
        return new ExtractResult(entries, bytes, _implicit);
    }

    private long CreateEntry(int rootFd, int parentFd, string name, string path, TarEntry e, TarReader reader, byte[] buf,
        List<(string, TarEntry)> dirTimes)
    {
        // Regular files (most entries) try the create first and look only when the name is taken.
        FsCalls.StatBuf st = default;
        bool exists = (e.Type != TarEntryType.Regular || NoReplaceDirWithNonDir) && FsCalls.TryLstat(parentFd, name, out st);
        if (exists && NoReplaceDirWithNonDir && ((st.Mode & FsCalls.S_IFMT) == FsCalls.S_IFDIR) != (e.Type == TarEntryType.Directory))
            throw new ImageException((st.Mode & FsCalls.S_IFMT) == FsCalls.S_IFDIR
                ? $"cannot overwrite directory \"/{path}\" with non-directory \"{e.Name}\""
                : $"cannot overwrite non-directory \"/{path}\" with directory \"{e.Name}\"");
        if (exists)
        {
            bool bothDirs = (st.Mode & FsCalls.S_IFMT) == FsCalls.S_IFDIR && e.Type == TarEntryType.Directory;
            if (!bothDirs) Remove(parentFd, name, st);
        }

        switch (e.Type)
        {
            case TarEntryType.Directory:
            {
                if (!exists || (st.Mode & FsCalls.S_IFMT) != FsCalls.S_IFDIR)
                    FsCalls.Check(FsCalls.mkdirat(parentFd, name, Mode.Rwx), $"mkdir {path}");
                int fd = FsCalls.Check(FsCalls.openat(parentFd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0), $"open {path}");
                try { SetOwnerModeXattrs(fd, e); } finally { FsCalls.close(fd); }
                dirTimes.Add((path, e));
                return 0;
            }
            case TarEntryType.Regular:
            {
                const int create = O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC;
                bool known = _freshMetadataKnown && !_cachedParentSetgid && parentFd == _cachedParentFd;
                uint createMode = known ? e.Mode & 0x1FF : Mode.Rw;
                int fd = FsCalls.openat(parentFd, name, create, createMode);
                if (fd < 0 && FsCalls.LastErrno == Errno.EEXIST && FsCalls.TryLstat(parentFd, name, out st))
                {
                    Remove(parentFd, name, st);
                    fd = FsCalls.openat(parentFd, name, create, createMode);
                }
                FsCalls.Check(fd, $"create {path}");
                long total = 0;
                try
                {
                    if (e.Size >= DirectWriteMinimum) total = WriteThrough(fd, path, reader);
                    else
                    {
                        // The decompressor hands out a few kB per read: fill the buffer first, so that a small
                        // file is one write(2).
                        while (true)
                        {
                            int filled = 0, n;
                            while (filled < buf.Length && (n = reader.ReadData(buf.AsSpan(filled))) > 0) filled += n;
                            if (filled == 0) break;
                            FsCalls.WriteAll(fd, buf.AsSpan(0, filled), $"write {path}");
                            total += filled;
                            if (filled < buf.Length) break;
                        }
                    }
                    SetOwnerModeXattrs(fd, e, fresh: known);
                    SetTimesFd(fd, e);
                }
                finally { FsCalls.close(fd); }
                return total;
            }
            case TarEntryType.SymLink:
                if (e.LinkName.Length == 0) throw new ImageException($"layer entry \"{e.Name}\" is a symlink with an empty target");
                // The target is stored as is: it is only ever resolved inside the snapshot (RESOLVE_IN_ROOT here,
                // the container's root at run time).
                FsCalls.Check(FsCalls.symlinkat(e.LinkName, parentFd, name), $"symlink {path}");
                ChownAt(parentFd, name, e, path);
                SetXattrsAt(parentFd, name, e, path);
                SetTimesAt(parentFd, name, e);
                return 0;
            case TarEntryType.HardLink:
            {
                string target = SnapshotPath.Clean(e.LinkName);
                if (target.Length == 0) throw new ImageException($"layer entry \"{e.Name}\" is a hard link to the root directory");
                var (tp, tn) = SnapshotPath.Split(target);
                int tfd = TryOpenDir(rootFd, tp);
                if (tfd < 0) throw new ImageException($"layer entry \"{e.Name}\": hard link target \"{e.LinkName}\" not found");
                try
                {
                    if (FsCalls.linkat(tfd, tn, parentFd, name, 0) != 0)
                    {
                        int err = FsCalls.LastErrno;
                        if (err == Errno.ENOENT) throw new ImageException($"layer entry \"{e.Name}\": hard link target \"{e.LinkName}\" not found");
                        if (err == Errno.EPERM && FsCalls.TryLstat(tfd, tn, out var tst) && (tst.Mode & FsCalls.S_IFMT) == FsCalls.S_IFDIR)
                            throw new ImageException($"layer entry \"{e.Name}\": hard link to a directory");
                        throw new SystemCallException(err, $"link {path} -> {target}");
                    }
                }
                finally { FsCalls.close(tfd); }
                return 0;
            }
            case TarEntryType.CharDevice:
            case TarEntryType.BlockDevice:
            case TarEntryType.Fifo:
            {
                uint kind = e.Type switch
                {
                    TarEntryType.CharDevice => FsCalls.S_IFCHR,
                    TarEntryType.BlockDevice => FsCalls.S_IFBLK,
                    _ => FsCalls.S_IFIFO,
                };
                if (kind != FsCalls.S_IFIFO && !_isRoot) return 0; // rootless: device nodes cannot be made; skipped like docker
                FsCalls.Check(FsCalls.mknodat(parentFd, name, kind | Mode.Rw, MakeDev(e.DevMajor, e.DevMinor)), $"mknod {path}");
                ChownAt(parentFd, name, e, path);
                FsCalls.Check(FsCalls.fchmodat(parentFd, name, e.Mode, 0), $"chmod {path}");
                SetXattrsAt(parentFd, name, e, path);
                SetTimesAt(parentFd, name, e);
                return 0;
            }
            default:
                throw new ImageException($"unsupported tar entry type for \"{e.Name}\"");
        }
    }

    private void Whiteout(int rootFd, string parent, string name, string original, HashSet<string> created, List<string> opaque)
    {
        if (name == OpaqueMarker)
        {
            if (_mode == WhiteoutMode.Apply) { opaque.Add(parent); return; }
            int pfd = OpenParent(rootFd, parent, original);
            try
            {
                int fd = FsCalls.Check(FsCalls.Openat2(pfd, ".", (ulong)(O.RDONLY | O.DIRECTORY | O.CLOEXEC), Resolve.IN_ROOT), $"open {parent}");
                try { FsCalls.SetXattr(fd, OverlayOpaqueXattr, "y"u8, $"mark {parent} opaque"); }
                finally { FsCalls.close(fd); }
            }
            finally { FsCalls.close(pfd); }
            return;
        }
        if (name.StartsWith(WhiteoutPrefix + WhiteoutPrefix, StringComparison.Ordinal)) return; // other aufs metadata (.wh..wh.plnk, ...)

        string target = name[WhiteoutPrefix.Length..];
        if (target.Length == 0 || target == "." || target == "..")
            throw new ImageException($"layer entry \"{original}\" is an invalid whiteout (of \"{target}\")");
        string targetPath = parent.Length == 0 ? target : parent + "/" + target;

        if (_mode == WhiteoutMode.Overlay)
        {
            int pfd = OpenParent(rootFd, parent, original);
            try
            {
                if (FsCalls.TryLstat(pfd, target, out var st)) Remove(pfd, target, st);
                if (_isRoot) FsCalls.Check(FsCalls.mknodat(pfd, target, FsCalls.S_IFCHR, 0), $"whiteout {targetPath}");
                else
                {
                    // Rootless overlay (userxattr): a 0/0 char device cannot be made; an xattr whiteout would need
                    // the kernel's user.overlay.whiteout support. Keep the tree honest: refuse.
                    throw new ImageException("overlay whiteouts need root (CAP_MKNOD); use the native snapshotter");
                }
            }
            finally { FsCalls.close(pfd); }
            created.Add(targetPath);
            return;
        }

        int dfd = TryOpenDir(rootFd, parent);
        if (dfd < 0) return; // nothing below to hide
        try
        {
            if (FsCalls.TryLstat(dfd, target, out var st)) Remove(dfd, target, st);
        }
        finally { FsCalls.close(dfd); }
        created.Remove(targetPath);
    }

    /// <summary>Apply mode: an opaque directory keeps only what this layer put in it.</summary>
    private void ClearBelow(int rootFd, string dir, HashSet<string> created)
    {
        int dfd = TryOpenDir(rootFd, dir);
        if (dfd < 0) return;
        try
        {
            foreach (var child in ListDir(dfd))
            {
                string cp = dir.Length == 0 ? child : dir + "/" + child;
                if (created.Contains(cp)) continue;
                if (FsCalls.TryLstat(dfd, child, out var st))
                {
                    if ((st.Mode & FsCalls.S_IFMT) == FsCalls.S_IFDIR && created.Any(c => c.StartsWith(cp + "/", StringComparison.Ordinal)))
                    {
                        ClearBelow(rootFd, cp, created);
                        continue;
                    }
                    Remove(dfd, child, st);
                }
            }
        }
        finally { FsCalls.close(dfd); }
    }

    // The parent directory of the last entry, kept open: a layer lists a directory's entries together, so
    // most entries need no path resolution of their own. The fd is the one openat2(RESOLVE_IN_ROOT) gave
    // for that path; the path can only come to mean another directory when something on it is removed or
    // replaced, and every removal (Remove) drops the cache first.
    private string? _cachedParent;
    private int _cachedParentFd = -1;
    private bool _cachedParentSetgid = true;

    private int CachedParent(int rootFd, string parent, string original)
    {
        if (_cachedParentFd >= 0 && string.Equals(_cachedParent, parent, StringComparison.Ordinal)) return _cachedParentFd;
        ForgetParent();
        _cachedParentFd = OpenParent(rootFd, parent, original);
        _cachedParent = parent;
        _cachedParentSetgid = !TryMode(_cachedParentFd, out uint mode) || (mode & 0x400 /* S_ISGID */) != 0;
        return _cachedParentFd;
    }

    private static unsafe bool TryMode(int fd, out uint mode)
    {
        FsCalls.StatBuf st;
        bool ok = FsCalls.fstatat(fd, "", &st, At.EMPTY_PATH) == 0;
        mode = st.Mode;
        return ok;
    }

    private void ForgetParent()
    {
        if (_cachedParentFd >= 0) FsCalls.close(_cachedParentFd);
        _cachedParentFd = -1;
        _cachedParent = null;
        _cachedParentSetgid = true;
    }

    /// <summary>Removes an entry of the snapshot: the cached parent may have been it or below it.</summary>
    private void Remove(int dirFd, string name, FsCalls.StatBuf st)
    {
        // Removing a child of the cached directory leaves that directory where it is; anything else may not.
        if (_cachedParentFd >= 0 && _cachedParentFd != dirFd) ForgetParent();
        RemoveAt(dirFd, name, st);
    }

    /// <summary>Opens (creating as needed) the parent directory of an entry, resolved inside the root.</summary>
    private int OpenParent(int rootFd, string parent, string original)
    {
        if (parent.Length == 0)
        {
            int r = FsCalls.Check(FsCalls.Openat2(rootFd, ".", (ulong)(O.PATH | O.DIRECTORY | O.CLOEXEC), Resolve.IN_ROOT), "open root");
            RememberTimes("", r);
            return r;
        }
        int fd = FsCalls.Openat2(rootFd, parent, (ulong)(O.PATH | O.DIRECTORY | O.CLOEXEC), Resolve.IN_ROOT | Resolve.NO_MAGICLINKS);
        if (fd >= 0)
        {
            RememberTimes(parent, fd);
            return fd;
        }
        int err = FsCalls.LastErrno;
        if (err == Errno.ENOTDIR)
            throw new ImageException($"layer entry \"{original}\": a parent path is not a directory");
        if (err != Errno.ENOENT) throw new SystemCallException(err, $"open {parent}");

        // Create the missing directories one by one, each resolved again from the root.
        string prefix = "";
        foreach (var comp in parent.Split('/'))
        {
            int pfd = OpenParent(rootFd, prefix, original);
            try
            {
                if (FsCalls.mkdirat(pfd, comp, Mode.RwxRxRx) == 0)
                {
                    string made = prefix.Length == 0 ? comp : prefix + "/" + comp;
                    _implicit.Add(made);
                    _seenParents.Add(made);
                }
                else
                {
                    if (FsCalls.LastErrno != Errno.EEXIST) throw new SystemCallException(FsCalls.LastErrno, $"mkdir {prefix}/{comp}");
                    if (FsCalls.TryLstat(pfd, comp, out var cst) && (cst.Mode & FsCalls.S_IFMT) == FsCalls.S_IFLNK)
                    {
                        int probe = TryOpenDir(rootFd, prefix.Length == 0 ? comp : prefix + "/" + comp);
                        if (probe < 0) throw new ImageException($"layer entry \"{original}\": its parent path goes through a symlink to a missing directory");
                        FsCalls.close(probe);
                    }
                }
            }
            finally { FsCalls.close(pfd); }
            prefix = prefix.Length == 0 ? comp : prefix + "/" + comp;
        }
        fd = FsCalls.Openat2(rootFd, parent, (ulong)(O.PATH | O.DIRECTORY | O.CLOEXEC), Resolve.IN_ROOT | Resolve.NO_MAGICLINKS);
        if (fd < 0)
        {
            if (FsCalls.LastErrno == Errno.ENOTDIR) throw new ImageException($"layer entry \"{original}\": a parent path is not a directory");
            throw new SystemCallException(FsCalls.LastErrno, $"open {parent}");
        }
        return fd;
    }

    /// <summary>The first time a pre-existing directory is written into, its times are noted (to put back at the end).</summary>
    private unsafe void RememberTimes(string dir, int fd)
    {
        if (!_seenParents.Add(dir)) return;
        FsCalls.StatBuf st;
        if (FsCalls.fstatat(fd, "", &st, At.EMPTY_PATH) == 0) _existingTimes[dir] = (st.Atime, st.Mtime);
    }

    private static unsafe void RestoreTimes(int dirFd, FsCalls.Timespec a, FsCalls.Timespec m)
    {
        FsCalls.Timespec* t = stackalloc FsCalls.Timespec[2];
        t[0] = a;
        t[1] = m;
        FsCalls.utimensat(At.FDCWD, $"/proc/self/fd/{dirFd}", t, 0);
    }

    private static int TryOpenDir(int rootFd, string dir)
    {
        int fd = FsCalls.Openat2(rootFd, dir.Length == 0 ? "." : dir, (ulong)(O.PATH | O.DIRECTORY | O.CLOEXEC), Resolve.IN_ROOT | Resolve.NO_MAGICLINKS);
        if (fd >= 0) return fd;
        int err = FsCalls.LastErrno;
        if (err is Errno.ENOENT or Errno.ENOTDIR) return -1;
        throw new SystemCallException(err, $"open {dir}");
    }

    /// <summary>Removes an entry (a directory with everything below it) without following symlinks.</summary>
    internal static void RemoveAt(int dirFd, string name, FsCalls.StatBuf st)
    {
        if ((st.Mode & FsCalls.S_IFMT) != FsCalls.S_IFDIR)
        {
            FsCalls.Check(FsCalls.unlinkat(dirFd, name, 0), $"remove {name}");
            return;
        }
        int fd = FsCalls.Check(FsCalls.openat(dirFd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0), $"open {name}");
        try
        {
            foreach (var child in ListDir(fd))
                if (FsCalls.TryLstat(fd, child, out var cst)) RemoveAt(fd, child, cst);
        }
        finally { FsCalls.close(fd); }
        FsCalls.Check(FsCalls.unlinkat(dirFd, name, At.REMOVEDIR), $"remove {name}");
    }

    internal static List<string> ListDir(int dirFd)
    {
        // /proc/self/fd/N names the directory the fd holds, wherever it is; enumeration does not follow
        // the entries it lists.
        var list = new List<string>();
        foreach (var p in Directory.EnumerateFileSystemEntries($"/proc/self/fd/{dirFd}"))
            list.Add(Path.GetFileName(p));
        return list;
    }

    /// <param name="fresh">The file was just created with the tar's permission bits, in a directory that is not setgid
    /// and has no default ACL: owner and mode are already what they would be set to when they match.</param>
    private void SetOwnerModeXattrs(int fd, TarEntry e, bool fresh = false)
    {
        if (!fresh || e.Uid != _euid || e.Gid != _egid)
            if (FsCalls.fchown(fd, e.Uid, e.Gid) != 0 && (_isRoot || FsCalls.LastErrno != Errno.EPERM))
                throw new SystemCallException(FsCalls.LastErrno, $"chown {e.Name}");
        if (!fresh || (e.Mode & ~0x1FFu) != 0 || (e.Mode & _umask!.Value) != 0)
            FsCalls.Check(FsCalls.fchmod(fd, e.Mode), $"chmod {e.Name}");
        if (e.Xattrs is null) return;
        foreach (var (k, v) in e.Xattrs)
        {
            if (!AllowedXattr(k)) continue;
            if (k == DefaultAclXattr) _freshMetadataKnown = false;
            if (SetXattrFd(fd, k, v) != 0 && _isRoot && FsCalls.LastErrno != 95 /* EOPNOTSUPP */)
                throw new SystemCallException(FsCalls.LastErrno, $"setxattr {k} on {e.Name}");
        }
    }

    private static unsafe int SetXattrFd(int fd, string k, byte[] v)
    {
        fixed (byte* p = v) return FsCalls.fsetxattr(fd, k, p, (nuint)v.Length, 0);
    }

    private void ChownAt(int parentFd, string name, TarEntry e, string path)
    {
        if (FsCalls.fchownat(parentFd, name, e.Uid, e.Gid, At.SYMLINK_NOFOLLOW) != 0 && (_isRoot || FsCalls.LastErrno != Errno.EPERM))
            throw new SystemCallException(FsCalls.LastErrno, $"chown {path}");
    }

    private void SetXattrsAt(int parentFd, string name, TarEntry e, string path)
    {
        if (e.Xattrs is null) return;
        // lsetxattr through the parent's /proc/self/fd link: the parent is already resolved inside the root,
        // and the final component is not followed.
        string p = $"/proc/self/fd/{parentFd}/{name}";
        foreach (var (k, v) in e.Xattrs)
        {
            if (!AllowedXattr(k)) continue;
            if (k == DefaultAclXattr) _freshMetadataKnown = false;
            unsafe
            {
                fixed (byte* vp = v)
                    if (FsCalls.lsetxattr(p, k, vp, (nuint)v.Length, 0) != 0 && _isRoot && FsCalls.LastErrno is not (Errno.EPERM or 95))
                        throw new SystemCallException(FsCalls.LastErrno, $"setxattr {k} on {path}");
            }
        }
    }

    /// <summary>A layer cannot forge overlayfs' own attributes (opaque, redirect, metacopy).</summary>
    private static bool AllowedXattr(string k) =>
        !k.StartsWith("trusted.overlay.", StringComparison.Ordinal) && !k.StartsWith("user.overlay.", StringComparison.Ordinal);

    private static unsafe void SetTimesFd(int fd, TarEntry e)
    {
        FsCalls.Timespec* t = stackalloc FsCalls.Timespec[2];
        FillTimes(t, e);
        FsCalls.futimens(fd, t);
    }

    private static unsafe void SetTimesAt(int dirFd, string name, TarEntry e)
    {
        FsCalls.Timespec* t = stackalloc FsCalls.Timespec[2];
        FillTimes(t, e);
        FsCalls.utimensat(dirFd, name, t, At.SYMLINK_NOFOLLOW);
    }

    private static unsafe void FillTimes(FsCalls.Timespec* t, TarEntry e)
    {
        t[0] = new FsCalls.Timespec { Sec = e.AtimeSeconds ?? e.MtimeSeconds, Nsec = e.AtimeSeconds is null ? e.MtimeNanos : e.AtimeNanos };
        t[1] = new FsCalls.Timespec { Sec = e.MtimeSeconds, Nsec = e.MtimeNanos };
    }

    private static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
}

