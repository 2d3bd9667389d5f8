using Berth.Images.Interop;
using Berth.Images.Layers;
using Microsoft.Win32.SafeHandles;

namespace Berth.Images.Archive;

/// <summary>What <see cref="TreeTar"/> writes and how.</summary>
public sealed class TreeTarOptions
{
    /// <summary>
    /// The tree is an overlayfs upper directory: a 0/0 character device becomes a <c>.wh.NAME</c>
    /// file, a directory marked <c>trusted.overlay.opaque=y</c> gets a <c>.wh..wh..opq</c> entry:
    /// the OCI layer form of overlay's whiteouts.
    /// </summary>
    public bool OverlayWhiteouts { get; init; }

    /// <summary>Paths (relative to the walk's base, no leading slash) left out with everything below them.</summary>
    public Func<string, bool>? Skip { get; init; }

    /// <summary>Called for each directory that is not descended into because it is a kernel pseudo filesystem.</summary>
    public Action<string>? SkippedFilesystem { get; init; }
}

/// <summary>
/// Writes a directory tree (or one file) as tar, reading it only through directory file
/// descriptors opened with O_NOFOLLOW, so nothing in the tree - a symlink, a rename under way -
/// leads the walk outside it. Symlinks are archived as links, hard links once with links after,
/// kernel pseudo filesystems mounted inside (proc, sysfs, cgroup) are not descended into.
/// Times are whole seconds, as docker's archives.
/// </summary>
public static unsafe class TreeTar
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    // statfs f_type of filesystems whose files are the kernel's, not the container's.
    private static readonly HashSet<long> PseudoFilesystems =
    [
        0x9fa0 /* proc */, 0x62656572 /* sysfs */, 0x27e0eb /* cgroup */, 0x63677270 /* cgroup2 */, 0x1cd1 /* devpts */,
        0x19800202 /* mqueue */, 0x73636673 /* securityfs */, 0x64626720 /* debugfs */, 0x74726163 /* tracefs */,
        unchecked((long)0xcafe4a11) /* bpf */, 0x65735543 /* fusectl */, 0x62656570 /* configfs */,
    ];

    /// <summary>Whether an fd is on a kernel pseudo filesystem (proc, sysfs, cgroup, ...): not a container's files.</summary>
    public static bool OnPseudoFilesystem(int fd)
    {
        FsCalls.StatFsBuf b;
        return FsCalls.statfs($"/proc/self/fd/{fd}", &b) == 0 && PseudoFilesystems.Contains(b.Type);
    }

    /// <summary>
    /// Writes the entry <paramref name="name"/> of directory <paramref name="dirFd"/> (a final symlink is
    /// archived, not followed) as <paramref name="entryName"/>, and everything below it.
    /// </summary>
    public static void WriteEntry(TarStreamWriter w, int dirFd, string name, string entryName, TreeTarOptions o, string relPath = "")
    {
        var walk = new Walk(w, o);
        if (!FsCalls.TryLstat(dirFd, name, out var st)) throw new NotFoundException($"{entryName}: no such file or directory");
        FsCalls.StatBuf parent;
        FsCalls.Check(FsCalls.fstatat(dirFd, "", &parent, At.EMPTY_PATH), "stat directory");
        walk.Entry(dirFd, name, st, entryName, relPath, parentDev: parent.Dev);
    }

    /// <summary>Writes the directory <paramref name="dirFd"/> itself as <paramref name="entryName"/> (e.g. "./" or "etc") and everything below it.</summary>
    public static void WriteDirectory(TarStreamWriter w, int dirFd, string entryName, TreeTarOptions o, bool includeSelf = true, string relPath = "")
    {
        var walk = new Walk(w, o);
        FsCalls.StatBuf st;
        FsCalls.Check(FsCalls.fstatat(dirFd, "", &st, At.EMPTY_PATH), "stat directory");
        if ((st.Mode & FsCalls.S_IFMT) != FsCalls.S_IFDIR) throw new ImageException($"{entryName} is not a directory");
        int fd = FsCalls.Check(FsCalls.Openat2(dirFd, ".", (ulong)(O.RDONLY | O.DIRECTORY | O.CLOEXEC), 0), "open directory");
        try
        {
            if (includeSelf) walk.Header(fd, "", st, entryName, TarEntryType.Directory);
            walk.Children(fd, st, entryName, relPath);
        }
        finally { FsCalls.close(fd); }
    }

    private sealed class Walk(TarStreamWriter w, TreeTarOptions o)
    {
        private readonly Dictionary<(ulong, ulong), string> _links = new();

        public void Entry(int dirFd, string name, FsCalls.StatBuf st, string entryName, string rel, ulong parentDev)
        {
            if (rel.Length > 0 && o.Skip?.Invoke(rel) == true) return;
            uint kind = st.Mode & FsCalls.S_IFMT;
            switch (kind)
            {
                case FsCalls.S_IFDIR:
                {
                    int fd = FsCalls.openat(dirFd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0);
                    if (fd < 0) throw new SystemCallException(FsCalls.LastErrno, $"open {entryName}");
                    try
                    {
                        Header(fd, "", st, entryName, TarEntryType.Directory);
                        if (st.Dev != parentDev && IsPseudo(fd)) { o.SkippedFilesystem?.Invoke(rel); return; }
                        Children(fd, st, entryName, rel);
                    }
                    finally { FsCalls.close(fd); }
                    return;
                }
                case FsCalls.S_IFREG:
                {
                    if (st.Nlink > 1 && _links.TryGetValue((st.Dev, st.Ino), out var first))
                    {
                        w.Write(new TarEntry { Name = entryName, Type = TarEntryType.HardLink, LinkName = first, Mode = st.Mode & 0xFFF, Uid = st.Uid, Gid = st.Gid, MtimeSeconds = st.Mtime.Sec });
                        return;
                    }
                    int fd = FsCalls.openat(dirFd, name, O.RDONLY | O.NOFOLLOW | O.CLOEXEC, 0);
                    if (fd < 0) throw new SystemCallException(FsCalls.LastErrno, $"open {entryName}");
                    using var handle = new SafeFileHandle(fd, ownsHandle: true);
                    FsCalls.StatBuf now;
                    FsCalls.Check(FsCalls.fstatat(fd, "", &now, At.EMPTY_PATH), $"stat {entryName}");
                    var e = Make(dirFd, name, now, entryName, TarEntryType.Regular);
                    e.Size = now.Size;
                    using var data = new FileStream(handle, FileAccess.Read, 1);
                    w.Write(e, data);
                    if (st.Nlink > 1) _links[(st.Dev, st.Ino)] = entryName;
                    return;
                }
                case FsCalls.S_IFLNK:
                {
                    var e = Make(dirFd, name, st, entryName, TarEntryType.SymLink);
                    e.LinkName = FsCalls.ReadLinkAt(dirFd, name);
                    w.Write(e);
                    return;
                }
                case FsCalls.S_IFCHR when o.OverlayWhiteouts && st.Rdev == 0:
                {
                    // An overlay whiteout: the layer says "deleted" with an empty .wh. file beside it.
                    string parent = entryName.Contains('/') ? entryName[..(entryName.LastIndexOf('/') + 1)] : "";
                    w.Write(new TarEntry { Name = parent + WhiteoutPrefix + name, Type = TarEntryType.Regular, MtimeSeconds = st.Mtime.Sec });
                    return;
                }
                case FsCalls.S_IFCHR:
                case FsCalls.S_IFBLK:
                case FsCalls.S_IFIFO:
                {
                    var e = Make(dirFd, name, st, entryName, kind == FsCalls.S_IFCHR ? TarEntryType.CharDevice : kind == FsCalls.S_IFBLK ? TarEntryType.BlockDevice : TarEntryType.Fifo);
                    e.DevMajor = (uint)(((st.Rdev >> 32) & 0xfffff000) | ((st.Rdev >> 8) & 0xfff));
                    e.DevMinor = (uint)(((st.Rdev >> 12) & 0xffffff00) | (st.Rdev & 0xff));
                    w.Write(e);
                    return;
                }
                default:
                    return; // sockets are not archived (as docker)
            }
        }

        public void Header(int fd, string name, FsCalls.StatBuf st, string entryName, TarEntryType type) =>
            w.Write(Make(fd, name, st, entryName, type));

        public void Children(int dirFd, FsCalls.StatBuf dirSt, string entryName, string rel)
        {
            string prefix = entryName.Length == 0 || entryName == "." || entryName == "./" ? "" : entryName.TrimEnd('/') + "/";
            if (o.OverlayWhiteouts && Opaque(dirFd))
                w.Write(new TarEntry { Name = prefix + OpaqueMarker, Type = TarEntryType.Regular, MtimeSeconds = dirSt.Mtime.Sec });
            var names = LayerExtractor.ListDir(dirFd);
            names.Sort(StringComparer.Ordinal);
            foreach (var child in names)
            {
                if (!FsCalls.TryLstat(dirFd, child, out var cst)) continue; // removed meanwhile
                Entry(dirFd, child, cst, prefix + child, rel.Length == 0 ? child : rel + "/" + child, dirSt.Dev);
            }
        }

        private static TarEntry Make(int dirFd, string name, FsCalls.StatBuf st, string entryName, TarEntryType type) => new()
        {
            Name = entryName,
            Type = type,
            Mode = st.Mode & 0xFFF,
            Uid = st.Uid,
            Gid = st.Gid,
            MtimeSeconds = st.Mtime.Sec,
            Xattrs = Xattrs(dirFd, name),
        };

        private static List<KeyValuePair<string, byte[]>>? Xattrs(int dirFd, string name)
        {
            // "/." makes the magic link of a directory fd be followed; a name is looked at without following it.
            string path = name.Length == 0 ? $"/proc/self/fd/{dirFd}/." : $"/proc/self/fd/{dirFd}/{name}";
            var list = FsCalls.ListXattrs(path).Where(x => Archived(x.Key)).ToList();
            return list.Count == 0 ? null : list;
        }

        // Overlay's own bookkeeping and SELinux labels belong to this host, not to the files.
        private static bool Archived(string key) =>
            !key.StartsWith("trusted.overlay.", StringComparison.Ordinal) && !key.StartsWith("user.overlay.", StringComparison.Ordinal)
            && key != "security.selinux";

        private static bool Opaque(int dirFd)
        {
            foreach (var (k, v) in FsCalls.ListXattrs($"/proc/self/fd/{dirFd}/."))
                if (k is "trusted.overlay.opaque" or "user.overlay.opaque" && v.Length > 0 && v[0] == (byte)'y') return true;
            return false;
        }

        private static bool IsPseudo(int fd)
        {
            FsCalls.StatFsBuf b;
            return FsCalls.statfs($"/proc/self/fd/{fd}", &b) == 0 && PseudoFilesystems.Contains(b.Type);
        }
    }
}
