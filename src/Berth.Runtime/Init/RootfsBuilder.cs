using Berth.Linux;
using Berth.Linux.Fs;
using Berth.Linux.Interop;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Init;

/// <summary>
/// Builds the container's filesystem view inside its new mount namespace: propagation,
/// every configured mount (targets resolved inside the rootfs), /dev, pivot_root, then
/// the masked and read-only paths. Runs in `berth-runtime init`, before the user process.
/// </summary>
internal sealed class RootfsBuilder
{
    private readonly InitRequest _req;
    private readonly Spec _spec;
    private readonly string _rootfs;
    private bool _devReadonly;

    private static readonly (string Path, long Major, long Minor)[] DefaultDevices =
    {
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
        ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    };

    public RootfsBuilder(InitRequest req)
    {
        _req = req;
        _spec = req.Spec;
        _rootfs = req.Rootfs;
    }

    /// <summary>Everything up to (not including) pivot_root.</summary>
    /// <remarks>
    /// Without a mount namespace of its own (the spec: inherit the runtime's) the container's
    /// mounts are made in the host's namespace, as runc and crun do; but nothing outside the
    /// rootfs is touched (no propagation change of the host's mounts), the root is entered with
    /// chroot, and `delete` detaches everything under the rootfs again (HostMounts).
    /// </remarks>
    public void Prepare()
    {
        if (!_req.HostMountNamespace)
        {
            ulong propagation = Propagation(_spec.Linux?.RootfsPropagation) ?? (MS.SLAVE | MS.REC);
            // Our copy of the host's mounts must not send mount events back to the host.
            Mount(null, "/", null, propagation, null);
            // pivot_root needs the new root to be a mount point whose parent is not shared. After a
            // recursive slave, private or unbindable nothing is (and reading mountinfo to find that
            // parent costs ~0.1 ms); otherwise the parent is made private, as runc does.
            bool noneShared = (propagation & MS.REC) != 0 && (propagation & (MS.SLAVE | MS.PRIVATE | MS.UNBINDABLE)) != 0;
            if (!noneShared) MakeParentPrivate(_rootfs);
        }
        // The root is a mount point of its own: a read-only root or a propagation setting then
        // changes this mount only.
        Mount(_rootfs, _rootfs, null, MS.BIND | MS.REC, null);

        using var root = new RootedPath(_rootfs);
        foreach (var m in _spec.Mounts ?? new List<Mount>()) MountOne(root, m);

        if (!(_spec.Mounts ?? new()).Any(m => Normalize(m.Destination) == "/dev" && MountOptions.Parse(m.Options, m.Type).Bind))
        {
            CreateDevices(root);
            CreateDevSymlinks(root);
        }

        // The working directory is created if missing, like runc, inside the root.
        if (_req.Process.Cwd is { Length: > 0 } cwd)
            LibC.close(root.OpenOrCreate(cwd, directory: true));
    }

    public void PivotRoot()
    {
        if (_req.HostMountNamespace)
        {
            // pivot_root would change the root of every process in the host's namespace.
            Errno.Check(LibC.chdir(_rootfs), $"chdir {_rootfs}");
            Errno.Check(LibC.chroot("."), "chroot");
            Errno.Check(LibC.chdir("/"), "chdir /");
            return;
        }
        if (_req.NoPivot)
        {
            Errno.Check(LibC.chdir(_rootfs), $"chdir {_rootfs}");
            Mount(_rootfs, "/", null, MS.MOVE, null);
            Errno.Check(LibC.chroot("."), "chroot");
            Errno.Check(LibC.chdir("/"), "chdir /");
            return;
        }
        int oldRoot = Errno.Check(LibC.open("/", O.DIRECTORY | O.RDONLY | O.CLOEXEC, 0), "open /");
        int newRoot = Errno.Check(LibC.open(_rootfs, O.DIRECTORY | O.RDONLY | O.CLOEXEC, 0), $"open {_rootfs}");
        try
        {
            Errno.Check(LibC.fchdir(newRoot), "fchdir to the rootfs");
            // pivot_root(".", "."): the old root ends up mounted on top of the new one,
            // so it can be detached without needing a directory for it in the image.
            Errno.Check(LibC.pivot_root(".", "."), $"pivot_root {_rootfs}");
            Errno.Check(LibC.fchdir(oldRoot), "fchdir to the old root");
            Mount(null, ".", null, MS.SLAVE | MS.REC, null);
            Errno.Check(LibC.umount2(".", MNT.DETACH), "unmount the old root");
            Errno.Check(LibC.chdir("/"), "chdir /");
        }
        finally
        {
            LibC.close(oldRoot);
            LibC.close(newRoot);
        }
    }

    /// <summary>After pivot_root: masks, read-only paths, a read-only root, propagation.</summary>
    public void Finish()
    {
        foreach (var p in _spec.Linux?.MaskedPaths ?? new List<string>()) MaskPath(p);
        foreach (var p in _spec.Linux?.ReadonlyPaths ?? new List<string>()) ReadonlyPath(p);
        if (_devReadonly) MakeReadOnly("/dev");
        if (_spec.Root?.Readonly == true) MakeReadOnly("/");
        if (Propagation(_spec.Linux?.RootfsPropagation) is ulong prop && (prop & (MS.SHARED | MS.PRIVATE | MS.UNBINDABLE)) != 0)
            Mount(null, "/", null, prop, null);
    }

    private void MountOne(RootedPath root, Mount m)
    {
        string dest = m.Destination!;
        var opts = MountOptions.Parse(m.Options, m.Type);

        if (m.Type == "cgroup" || m.Type == "cgroup2")
        {
            MountCgroup(root, dest, opts);
            return;
        }

        if (opts.Bind)
        {
            string src = Path.GetFullPath(m.Source!, _req.Bundle);
            bool isDir = Directory.Exists(src);
            if (!isDir && !File.Exists(src) && !IsSpecialFile(src))
                throw new RuntimeException($"mount {dest}: source {src} does not exist");
            int fd = root.OpenOrCreate(dest, isDir);
            try { Mount(src, RootedPath.FdPath(fd), null, MS.BIND | (opts.Recursive ? MS.REC : 0), null, dest); }
            finally { LibC.close(fd); }
            ulong extra = opts.Flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
            if (extra != 0) WithTop(root, dest, p => Mount(null, p, null, MS.BIND | MS.REMOUNT | extra | (LibC.MountFlags(p) & ~opts.ClearFlags), null, dest));
        }
        else
        {
            ulong flags = opts.Flags;
            if (Normalize(dest) == "/dev" && (flags & MS.RDONLY) != 0)
            {
                // Devices are created after this mount; it becomes read-only at the end.
                flags &= ~MS.RDONLY;
                _devReadonly = true;
            }
            int fd = root.OpenOrCreate(dest, directory: true);
            try
            {
                string target = RootedPath.FdPath(fd);
                int rc = LibC.mount(m.Source ?? m.Type, target, m.Type, flags, opts.DataString);
                if (rc < 0 && m.Type == "sysfs" && Errno.Last == Errno.EPERM)
                    // Without its own network namespace a user namespace may not mount sysfs: bind the host's, read-only.
                    Mount("/sys", target, null, MS.BIND | MS.REC, null, dest);
                else if (rc < 0 && m.Type == "mqueue" && Errno.Last == Errno.EPERM)
                    Mount("/dev/mqueue", target, null, MS.BIND | MS.REC, null, dest);
                else if (rc < 0)
                    throw new LinuxException(Errno.Last, $"mount {m.Type} on {dest}");
            }
            finally { LibC.close(fd); }
        }

        if (opts.Propagation != 0) WithTop(root, dest, p => Mount(null, p, null, opts.Propagation, null, dest));
    }

    /// <summary>
    /// The container's own cgroups, read-only unless asked: bind mounts of its host cgroup
    /// directories, under a tmpfs for the v1 hierarchies.
    /// </summary>
    private void MountCgroup(RootedPath root, string dest, MountOptions opts)
    {
        var sources = _req.CgroupMounts ?? new List<CgroupMountSource>();
        ulong ro = opts.Flags & MS.RDONLY;
        ulong common = MS.NOSUID | MS.NODEV | MS.NOEXEC;
        if (sources.Count == 1 && sources[0].V2)
        {
            int fd = root.OpenOrCreate(dest, true);
            try { Mount(sources[0].HostPath, RootedPath.FdPath(fd), null, MS.BIND | MS.REC, null, dest); }
            finally { LibC.close(fd); }
            WithTop(root, dest, p => Mount(null, p, null, MS.BIND | MS.REMOUNT | common | ro | (LibC.MountFlags(p) & ~MS.RDONLY), null, dest));
            return;
        }
        int tfd = root.OpenOrCreate(dest, true);
        try { Mount("tmpfs", RootedPath.FdPath(tfd), "tmpfs", common, "mode=755", dest); }
        finally { LibC.close(tfd); }
        foreach (var s in sources)
        {
            string sub = Normalize(dest) + "/" + s.Name;
            int fd = root.OpenOrCreate(sub, true);
            try { Mount(s.HostPath, RootedPath.FdPath(fd), null, MS.BIND | MS.REC, null, sub); }
            finally { LibC.close(fd); }
            // Controllers mounted together (cpu,cpuacct) get a symlink per name, as on the host.
            if (s.Name.Contains(','))
            {
                int dirFd = DirFd(root, dest);
                try { foreach (var alias in s.Name.Split(',')) LibC.symlinkat(s.Name, dirFd, alias); }
                finally { LibC.close(dirFd); }
            }
        }
        // nosuid,nodev,noexec (and ro) on the tmpfs and every bind under it: one mount_setattr
        // for the tree instead of a remount per hierarchy (~0.07 ms each, ten on this host).
        ulong attrs = MountAttr.NOSUID | MountAttr.NODEV | MountAttr.NOEXEC | (ro != 0 ? MountAttr.RDONLY : 0);
        if (TrySetAttrs(root, dest, attrs, recursive: true)) return;
        foreach (var s in sources)
        {
            string sub = Normalize(dest) + "/" + s.Name;
            WithTop(root, sub, p => Mount(null, p, null, MS.BIND | MS.REMOUNT | common | ro, null, sub));
        }
        if (ro != 0) WithTop(root, dest, p => Mount(null, p, null, MS.BIND | MS.REMOUNT | common | MS.RDONLY, null, dest));
    }

    private static bool _noMountSetattr; // this kernel has no mount_setattr (before 5.12): remounts instead

    /// <summary>mount_setattr; false (and remounts from then on) where the kernel lacks it, any other failure thrown.</summary>
    private static bool TryMountSetattr(int dirfd, string path, uint flags, ulong attrs, string what)
    {
        if (_noMountSetattr) return false;
        if (LibC.mount_setattr(dirfd, path, flags, attrs) == 0) return true;
        if (Errno.Last != Errno.ENOSYS) throw new LinuxException(Errno.Last, what);
        _noMountSetattr = true;
        return false;
    }

    /// <summary>mount_setattr on the mount now on top of <paramref name="dest"/>; false where the kernel lacks it.</summary>
    private static bool TrySetAttrs(RootedPath root, string dest, ulong attrs, bool recursive)
    {
        int fd = root.TryOpen(dest);
        if (fd < 0) throw new LinuxException(-fd, $"reopen {dest}");
        try { return TryMountSetattr(fd, "", (uint)(At.EMPTY_PATH | (recursive ? At.RECURSIVE : 0)), attrs, $"mount_setattr {dest}"); }
        finally { LibC.close(fd); }
    }

    private static int DirFd(RootedPath root, string path)
    {
        int fd = root.TryOpen(path, O.DIRECTORY);
        if (fd < 0) throw new LinuxException(-fd, $"open {path}");
        return fd;
    }

    private void CreateDevices(RootedPath root)
    {
        var devices = new List<LinuxDevice>();
        foreach (var (path, major, minor) in DefaultDevices)
            devices.Add(new LinuxDevice { Path = path, Type = "c", Major = major, Minor = minor, FileMode = 0x1b6 /* 0666 */, Uid = 0, Gid = 0 });
        foreach (var d in _spec.Linux?.Devices ?? new List<LinuxDevice>())
        {
            devices.RemoveAll(x => x.Path == d.Path);
            devices.Add(d);
        }
        // Each parent directory (/dev for the defaults) is resolved and opened once.
        var dirs = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            foreach (var d in devices)
            {
                string parent = Path.GetDirectoryName(d.Path!.TrimEnd('/')) ?? "/";
                if (!dirs.TryGetValue(parent, out int real))
                {
                    int dir = root.OpenOrCreate(parent, true);
                    // O_PATH fds cannot be mknod'ed under; reopen the resolved directory for real.
                    try { real = Errno.Check(LibC.openat(dir, ".", O.DIRECTORY | O.RDONLY | O.CLOEXEC, 0), $"open {parent}"); }
                    finally { LibC.close(dir); }
                    dirs[parent] = real;
                }
                CreateDevice(root, d, real);
            }
        }
        finally
        {
            foreach (int fd in dirs.Values) LibC.close(fd);
        }
    }

    /// <summary>One device node in its (open) parent directory <paramref name="real"/>.</summary>
    private void CreateDevice(RootedPath root, LinuxDevice d, int real)
    {
        string path = d.Path!;
        string name = Path.GetFileName(path.TrimEnd('/'));
        if (_req.InUserNamespace)
        {
            // mknod is not allowed in a user namespace: bind the host's device instead.
            int f = LibC.openat(real, name, O.CREAT | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0);
            if (f >= 0) LibC.close(f);
            int target = root.TryOpen(path);
            if (target < 0) throw new LinuxException(-target, $"create device {path}");
            try { Mount(path, RootedPath.FdPath(target), null, MS.BIND, null, path); }
            finally { LibC.close(target); }
            return;
        }
        uint type = d.Type switch { "b" => 0x6000u, "p" => 0x1000u, _ => 0x2000u };
        uint mode = (d.FileMode ?? 0x1b6) & 0xfff;
        LibC.unlinkat(real, name, 0);
        if (LibC.mknodat(real, name, type | mode, d.Type == "p" ? 0 : LibC.MakeDev(d.Major, d.Minor)) < 0)
            throw new LinuxException(Errno.Last, $"mknod {path}");
        if (LibC.fchownat(real, name, d.Uid ?? 0, d.Gid ?? 0, At.SYMLINK_NOFOLLOW) < 0)
            throw new LinuxException(Errno.Last, $"chown {path}");
        // (No chmod: the init's umask is 0 here, so mknod gave the node its mode exactly.)
    }

    private static void CreateDevSymlinks(RootedPath root)
    {
        int dev = root.TryOpen("/dev", O.DIRECTORY);
        if (dev < 0) return;
        int real = Errno.Check(LibC.openat(dev, ".", O.DIRECTORY | O.RDONLY | O.CLOEXEC, 0), "open /dev");
        LibC.close(dev);
        try
        {
            var links = new List<(string, string)>
            {
                ("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr"),
            };
            if (File.Exists("/proc/kcore")) links.Add(("/proc/kcore", "core"));
            foreach (var (target, name) in links)
                if (LibC.symlinkat(target, real, name) < 0 && Errno.Last != Errno.EEXIST)
                    throw new LinuxException(Errno.Last, $"symlink /dev/{name}");
            // /dev/ptmx follows the container's own devpts instance.
            int pts = root.TryOpen("/dev/pts/ptmx");
            if (pts >= 0)
            {
                LibC.close(pts);
                LibC.unlinkat(real, "ptmx", 0);
                if (LibC.symlinkat("pts/ptmx", real, "ptmx") < 0) throw new LinuxException(Errno.Last, "symlink /dev/ptmx");
            }
        }
        finally { LibC.close(real); }
    }

    private static void MaskPath(string path)
    {
        if (LibC.mount("/dev/null", path, null, MS.BIND, null) == 0) return;
        int e = Errno.Last;
        if (e == Errno.ENOENT) return;
        if (e == Errno.ENOTDIR || Directory.Exists(path))
        {
            if (LibC.mount("tmpfs", path, "tmpfs", MS.RDONLY, null) == 0) return;
            e = Errno.Last;
        }
        throw new LinuxException(e, $"mask {path}");
    }

    private static void ReadonlyPath(string path)
    {
        if (LibC.mount(path, path, null, MS.BIND | MS.REC, null) < 0)
        {
            if (Errno.Last == Errno.ENOENT) return;
            throw new LinuxException(Errno.Last, $"bind {path} read-only");
        }
        MakeReadOnly(path);
    }

    /// <summary>The mount at <paramref name="path"/> read-only, its other flags kept (mount_setattr needs no statfs for them).</summary>
    private static void MakeReadOnly(string path)
    {
        if (!TryMountSetattr(At.FDCWD, path, 0, MountAttr.RDONLY, $"remount {path} read-only")) Remount(path, MS.RDONLY);
    }

    private static void Remount(string path, ulong flags) =>
        Mount(null, path, null, MS.BIND | MS.REMOUNT | flags | LibC.MountFlags(path), null);

    /// <summary>Runs <paramref name="action"/> on a path that reaches the mount now on top of <paramref name="dest"/>.</summary>
    private static void WithTop(RootedPath root, string dest, Action<string> action)
    {
        int fd = root.TryOpen(dest);
        if (fd < 0) throw new LinuxException(-fd, $"reopen {dest}");
        try { action(RootedPath.FdPath(fd)); }
        finally { LibC.close(fd); }
    }

    private static void MakeParentPrivate(string path)
    {
        // Find the mount that holds the rootfs; if it is shared, pivot_root would refuse.
        string best = "/";
        foreach (var line in Berth.Linux.Io.FdIo.ReadLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            if (f.Length < 5) continue;
            string mp = Unescape(f[4]);
            if ((path == mp || path.StartsWith(mp.TrimEnd('/') + "/", StringComparison.Ordinal)) && mp.Length > best.Length) best = mp;
        }
        LibC.mount(null, best, null, MS.PRIVATE, null);
    }

    private static string Unescape(string s) => s.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");

    private static bool IsSpecialFile(string path)
    {
        unsafe
        {
            Stat st;
            return LibC.fstatat(At.FDCWD, path, &st, 0) == 0;
        }
    }

    private static ulong? Propagation(string? name) => name switch
    {
        "private" => MS.PRIVATE, "rprivate" => MS.PRIVATE | MS.REC,
        "shared" => MS.SHARED, "rshared" => MS.SHARED | MS.REC,
        "slave" => MS.SLAVE, "rslave" => MS.SLAVE | MS.REC,
        "unbindable" => MS.UNBINDABLE, "runbindable" => MS.UNBINDABLE | MS.REC,
        _ => null,
    };

    private static string Normalize(string? p) => "/" + (p ?? "").Trim('/');

    private static void Mount(string? source, string target, string? fstype, ulong flags, string? data, string? display = null)
    {
        if (LibC.mount(source, target, fstype, flags, data) < 0)
            throw new LinuxException(Errno.Last, $"mount {source ?? fstype ?? "(none)"} on {display ?? target}");
    }
}
