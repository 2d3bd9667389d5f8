using Berth.Images;
using Berth.Images.Archive;
using Berth.Images.Interop;
using Berth.Images.Layers;
using Berth.Linux.Fs;
using Berth.Linux.Interop;

namespace Berth.Engine.Containers;

/// <summary>docker cp's view of one path: what the X-Docker-Container-Path-Stat header carries.</summary>
/// <param name="Mode">A Go os.FileMode (type bits high, permission bits low), as docker sends it.</param>
/// <param name="LinkTarget">For a symlink: where it leads, as a path inside the container; otherwise "".</param>
public sealed record PathStat(string Name, long Size, uint Mode, DateTimeOffset Mtime, string LinkTarget);

public sealed partial class ContainerService
{
    /// <summary>
    /// A container's root filesystem held open for a copy. For a running container it is the init's
    /// root (/proc/PID/root: the container's own mounts - volumes, /etc/hosts - are seen as inside it);
    /// for a stopped one its snapshot is mounted for the copy under the container's lock (so no start
    /// races it) and unmounted on dispose. Every path is then resolved with <see cref="RootedPath"/>.
    /// </summary>
    public sealed class ContainerRoot : IDisposable
    {
        public RootedPath Root { get; }
        private Action? _release;
        internal ContainerRoot(RootedPath root, Action? release) { Root = root; _release = release; }

        public void Dispose()
        {
            Root.Dispose();
            Interlocked.Exchange(ref _release, null)?.Invoke();
        }
    }

    /// <param name="processView">The running init's view (volumes included, for cp); false: only the container's own
    /// root filesystem (export, as docker's leaves volumes out).</param>
    public async Task<ContainerRoot> OpenRootAsync(Container c, bool processView)
    {
        if (TryOpenRunning(c, processView) is { } running) return running;
        await c.Lock.WaitAsync();
        string? mnt = null;
        bool mounted = false;
        try
        {
            if (TryOpenRunning(c, processView) is { } r) { c.Lock.Release(); return r; }
            mnt = Path.Combine(BundleDir(c.Id), "copy-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(mnt);
            try { Images.Snapshots.Mount(Images.Snapshots.MountsOf(c.Id), mnt); }
            catch (ImageException e) { throw new EngineException(500, $"cannot mount the root filesystem of {c.ShortId}: {e.Message}"); }
            mounted = true;
            var root = new RootedPath(mnt);
            try { MountVolumesForCopy(c, root); }
            catch { root.Dispose(); throw; }
            string dir = mnt;
            return new ContainerRoot(root, () =>
            {
                LibC.umount2(dir, MNT.DETACH);
                try { Directory.Delete(dir); } catch (IOException) { }
                c.Lock.Release();
            });
        }
        catch
        {
            if (mounted) LibC.umount2(mnt!, MNT.DETACH);
            if (mnt is not null) try { Directory.Delete(mnt); } catch (IOException) { }
            c.Lock.Release();
            throw;
        }
    }

    /// <summary>
    /// A stopped container's binds and named volumes, mounted into the copy's root where the runtime
    /// mounts them at start (mount points resolved and made inside the root), so cp reads and writes
    /// them as docker's does. The unmount of the root (MNT_DETACH) takes them along.
    /// </summary>
    private void MountVolumesForCopy(Container c, RootedPath root)
    {
        var binds = (c.R.HostConfig.Binds ?? []).Select(b => SpecBuilder.ParseBind(b, _o.DataRoot))
            .OrderBy(b => b.Dst.TrimEnd('/').Count(ch => ch == '/'));
        foreach (var (src, dst, ro) in binds)
        {
            int at = root.OpenOrCreate(dst, directory: Directory.Exists(src));
            try
            {
                if (LibC.mount(src, RootedPath.FdPath(at), null, MS.BIND | MS.REC, null) != 0)
                    throw new EngineException(500, $"cannot mount {src} at {dst} for the copy: {new Berth.Linux.LinuxException(Errno.Last, "mount").Message}");
            }
            finally { LibC.close(at); }
            if (!ro) continue;
            int top = root.TryOpen(dst); // now the bind on top
            if (top < 0) throw new Berth.Linux.LinuxException(-top, $"reopen {dst}");
            try
            {
                if (LibC.mount(null, RootedPath.FdPath(top), null, MS.BIND | MS.REMOUNT | MS.RDONLY, null) != 0)
                    throw new Berth.Linux.LinuxException(Errno.Last, $"remount {dst} read-only");
            }
            finally { LibC.close(top); }
        }
    }

    private ContainerRoot? TryOpenRunning(Container c, bool processView)
    {
        int pid = c.R.State.Pid;
        if (!c.Running || pid <= 0) return null;
        string path = $"/proc/{pid}/root";
        if (!processView)
        {
            // The overlay mount the shim holds for the running container, when it is there.
            string rootfs = Path.Combine(BundleDir(c.Id), "rootfs");
            if (IsMountPoint(rootfs)) path = rootfs;
        }
        RootedPath root;
        try { root = new RootedPath(path); }
        catch (Berth.Linux.LinuxException) { return null; } // the init has just exited
        // The pid was read before the open: make sure it still is this container's init.
        if (!c.Running || c.R.State.Pid != pid) { root.Dispose(); return null; }
        return new ContainerRoot(root, null);
    }

    private static unsafe bool IsMountPoint(string dir)
    {
        Stat a, b;
        return LibC.fstatat(At.FDCWD, dir, &a, At.SYMLINK_NOFOLLOW) == 0
            && LibC.fstatat(At.FDCWD, Path.GetDirectoryName(dir)!, &b, 0) == 0 && a.Dev != b.Dev;
    }

    // ---- paths ----

    /// <summary>A path of docker's archive API: absolute, cleaned; the last component followed only after "/" or "/.".</summary>
    private readonly record struct ArchivePath(string Clean, string Parent, string Base, bool FollowLast, string EntryName)
    {
        public static ArchivePath Parse(string raw)
        {
            if (raw.Length == 0) throw EngineException.BadRequest("Path cannot be empty");
            if (raw.Contains('\0')) throw EngineException.BadRequest("path contains a NUL byte");
            var parts = new List<string>();
            foreach (var p in raw.Split('/'))
            {
                if (p is "" or ".") continue;
                if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
                parts.Add(p);
            }
            string clean = "/" + string.Join('/', parts);
            bool dot = raw == "." || raw.EndsWith("/.", StringComparison.Ordinal);
            bool follow = parts.Count == 0 || dot || raw.EndsWith('/');
            string name = parts.Count == 0 ? "/" : parts[^1];
            string parent = parts.Count <= 1 ? "/" : "/" + string.Join('/', parts.Take(parts.Count - 1));
            return new ArchivePath(clean, parent, name, follow, dot ? "." : name);
        }
    }

    private static EngineException NotFoundIn(string path, string container) =>
        EngineException.NotFound($"Could not find the file {path} in container {container}");

    /// <summary>An opened path: <c>Fd</c> is the entry itself when <c>Name</c> is null, else its parent directory.</summary>
    private readonly record struct OpenedPath(int Fd, string? Name, Stat St) : IDisposable
    {
        public void Dispose() => LibC.close(Fd);
    }

    private static OpenedPath OpenPath(RootedPath root, ArchivePath p, string raw, string container)
    {
        var o = OpenPathRaw(root, p, raw, container);
        // Files of the kernel's (a running container's /proc, /sys) are not the container's files: docker's
        // copy sees only the empty mount point there, and the daemon's privileges must not read them.
        if (TreeTar.OnPseudoFilesystem(o.Fd)) { o.Dispose(); throw NotFoundIn(raw, container); }
        return o;
    }

    private static unsafe OpenedPath OpenPathRaw(RootedPath root, ArchivePath p, string raw, string container)
    {
        Stat st;
        if (p.FollowLast)
        {
            int fd = root.TryOpen(p.Clean);
            if (fd < 0) throw fd is -Errno.ENOENT or -Errno.ENOTDIR or -Errno.ELOOP ? NotFoundIn(raw, container) : new Berth.Linux.LinuxException(-fd, $"resolve {raw}");
            if (LibC.fstatat(fd, "", &st, At.EMPTY_PATH) != 0) { int e = Errno.Last; LibC.close(fd); throw new Berth.Linux.LinuxException(e, $"stat {raw}"); }
            if ((st.Mode & 0xF000) != 0x4000) { LibC.close(fd); throw NotFoundIn(raw, container); }
            return new OpenedPath(fd, null, st);
        }
        int pfd = root.TryOpen(p.Parent, O.DIRECTORY);
        if (pfd < 0) throw pfd is -Errno.ENOENT or -Errno.ENOTDIR or -Errno.ELOOP ? NotFoundIn(raw, container) : new Berth.Linux.LinuxException(-pfd, $"resolve {raw}");
        if (LibC.fstatat(pfd, p.Base, &st, At.SYMLINK_NOFOLLOW) != 0)
        {
            int e = Errno.Last;
            LibC.close(pfd);
            throw e is Errno.ENOENT or Errno.ENOTDIR ? NotFoundIn(raw, container) : new Berth.Linux.LinuxException(e, $"stat {raw}");
        }
        return new OpenedPath(pfd, p.Base, st);
    }

    /// <summary>HEAD/GET /containers/{id}/archive's stat of a path.</summary>
    public PathStat StatPath(ContainerRoot r, string raw, string container)
    {
        var p = ArchivePath.Parse(raw);
        using var o = OpenPath(r.Root, p, raw, container);
        string link = (o.St.Mode & 0xF000) == 0xA000 ? LinkTarget(r.Root, p.Clean) : "";
        return new PathStat(p.FollowLast && p.EntryName != "." ? p.Base : p.EntryName, o.St.Size, GoFileMode(o.St.Mode),
            DateTimeOffset.FromUnixTimeSeconds(o.St.Mtime).AddTicks(o.St.MtimeNsec / 100), link);
    }

    /// <summary>GET /containers/{id}/archive: the path as a tar whose top entry is named after the path's last component.</summary>
    public void WriteArchive(ContainerRoot r, string raw, string container, Stream output)
    {
        var p = ArchivePath.Parse(raw);
        using var o = OpenPath(r.Root, p, raw, container);
        var w = new TarStreamWriter(output);
        var opts = new TreeTarOptions();
        try
        {
            if (o.Name is null)
            {
                if (p.Clean == "/" && p.EntryName == "/") TreeTar.WriteDirectory(w, o.Fd, "", opts, includeSelf: false);
                else TreeTar.WriteDirectory(w, o.Fd, p.EntryName, opts);
            }
            else TreeTar.WriteEntry(w, o.Fd, o.Name, p.EntryName, opts);
        }
        catch (ImageException e) { throw new EngineException(500, $"copy of {raw} from container {container}: {e.Message}"); }
        w.Finish();
    }

    /// <summary>
    /// PUT /containers/{id}/archive: extracts a tar into the directory <paramref name="raw"/>. The directory
    /// is resolved inside the container's root, and the extraction is confined to it: no entry (../,
    /// absolute name, through a symlink the tar or the container holds, hard link) lands outside.
    /// </summary>
    public void ExtractArchive(Container c, ContainerRoot r, string raw, string container, Stream tar, bool noOverwriteDirNonDir, bool copyUidGid)
    {
        var p = ArchivePath.Parse(raw);
        int fd = r.Root.TryOpen(p.Clean, O.DIRECTORY);
        if (fd == -Errno.ENOTDIR) throw EngineException.BadRequest($"extraction point is not a directory: {raw}");
        if (fd < 0) throw fd is -Errno.ENOENT or -Errno.ELOOP ? NotFoundIn(raw, container) : new Berth.Linux.LinuxException(-fd, $"resolve {raw}");
        try
        {
            if (TreeTar.OnPseudoFilesystem(fd)) throw EngineException.BadRequest($"cannot copy into {raw}: it is a kernel filesystem (/proc, /sys), not the container's files");
            if (!c.Running && c.R.HostConfig.ReadonlyRootfs) throw new EngineException(403, "container rootfs is marked read-only");
            var x = new LayerExtractor(RootedPath.FdPath(fd), WhiteoutMode.None)
            {
                // Without -a docker gives the copied files to the container's root.
                Owner = copyUidGid ? null : (0u, 0u),
                NoReplaceDirWithNonDir = noOverwriteDirNonDir,
            };
            x.Extract(WithTarHeaderChecked(tar));
        }
        catch (SystemCallException e) when (e.ErrorCode == Errno.EROFS)
        {
            throw new EngineException(403, $"cannot copy into {raw}: it is on a read-only file system (a read-only root or volume)");
        }
        catch (SystemCallException e) { throw new EngineException(500, $"copy into {raw} of container {container}: {e.Message}"); }
        catch (ImageException e) { throw EngineException.BadRequest($"copy into {raw} of container {container}: {e.Message}"); }
        finally { LibC.close(fd); }
    }

    /// <summary>The body with its first 512 bytes checked to be a tar header (so "not a tar" is said as such).</summary>
    private static Stream WithTarHeaderChecked(Stream body)
    {
        var first = new byte[512];
        int n = 0, k;
        while (n < first.Length && (k = body.Read(first, n, first.Length - n)) > 0) n += k;
        if (n == 0) return Stream.Null;
        if (n < first.Length || !IsTarHeader(first)) throw EngineException.BadRequest("the request body is not a tar archive");
        return new Berth.Engine.Store.ConcatenatedStream(new MemoryStream(first), body);
    }

    private static bool IsTarHeader(byte[] h)
    {
        if (h.AsSpan().IndexOfAnyExcept((byte)0) < 0) return true; // an empty archive's end marker
        long stored = 0;
        int i = 148;
        while (i < 156 && h[i] is (byte)' ' or 0) i++;
        for (; i < 156 && h[i] is >= (byte)'0' and <= (byte)'7'; i++) stored = stored * 8 + (h[i] - '0');
        long sum = 0;
        for (int j = 0; j < 512; j++) sum += j is >= 148 and < 156 ? ' ' : h[j];
        return stored == sum;
    }

    /// <summary>GET /containers/{id}/export: the container's root filesystem as a tar (its volumes left out, as docker's).</summary>
    public static void WriteExport(ContainerRoot r, Stream output)
    {
        var w = new TarStreamWriter(output);
        TreeTar.WriteDirectory(w, r.Root.RootFd, "", new TreeTarOptions(), includeSelf: false);
        w.Finish();
    }

    /// <summary>Where a symlink leads, followed to the end inside the root, as a container path (docker's linkTarget).</summary>
    private static string LinkTarget(RootedPath root, string path)
    {
        var pending = new Stack<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var done = new List<string>();
        for (int links = 0; pending.Count > 0;)
        {
            string part = pending.Pop();
            if (part == ".") continue;
            if (part == "..") { if (done.Count > 0) done.RemoveAt(done.Count - 1); continue; }
            int dir = root.TryOpen("/" + string.Join('/', done), O.DIRECTORY);
            if (dir < 0) { done.Add(part); done.AddRange(pending); break; }
            string? target = ReadLinkAt(dir, part);
            LibC.close(dir);
            if (target is null) { done.Add(part); continue; }
            if (++links > 40) break;
            if (target.StartsWith('/')) done.Clear();
            foreach (var t in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(t);
        }
        return "/" + string.Join('/', done);
    }

    private static unsafe string? ReadLinkAt(int dir, string name)
    {
        byte* buf = stackalloc byte[4096];
        nint n = LibC.readlinkat(dir, name, buf, 4096);
        return n < 0 ? null : System.Text.Encoding.UTF8.GetString(buf, (int)n);
    }

    /// <summary>st_mode as Go's os.FileMode (what docker's stat header carries).</summary>
    public static uint GoFileMode(uint m)
    {
        uint r = m & 0x1FF;
        switch (m & 0xF000)
        {
            case 0x4000: r |= 1u << 31; break;               // ModeDir
            case 0xA000: r |= 1u << 27; break;               // ModeSymlink
            case 0x2000: r |= (1u << 26) | (1u << 21); break; // ModeDevice | ModeCharDevice
            case 0x6000: r |= 1u << 26; break;               // ModeDevice
            case 0x1000: r |= 1u << 25; break;               // ModeNamedPipe
            case 0xC000: r |= 1u << 24; break;               // ModeSocket
        }
        if ((m & 0x800) != 0) r |= 1u << 23; // setuid
        if ((m & 0x400) != 0) r |= 1u << 22; // setgid
        if ((m & 0x200) != 0) r |= 1u << 20; // sticky
        return r;
    }
}
