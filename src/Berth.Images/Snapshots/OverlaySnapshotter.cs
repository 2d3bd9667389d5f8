using Berth.Images.Interop;
using Berth.Images.Layers;

namespace Berth.Images.Snapshots;

/// <summary>
/// overlayfs snapshots: each layer is its own directory holding only its diff (whiteouts as
/// overlay whiteouts), a container gets lowerdirs (its image's layers, top first) + upper + work.
/// Mounting uses the new mount API, one <c>lowerdir+</c> per layer, so the number of layers is
/// not limited by the one-page option string of mount(2).
/// </summary>
public sealed class OverlaySnapshotter : SnapshotterBase
{
    public OverlaySnapshotter(string root) : base(Path.Combine(root, "snapshots", "overlay")) { }

    public override string Name => "overlay";
    public override WhiteoutMode WhiteoutMode => WhiteoutMode.Overlay;

    public override LayerWriter BeginLayer(string chainId, string? parentChainId)
    {
        var (temp, fs) = NewTemp(parentChainId);
        return new LayerWriter(temp, LayerDir(chainId), fs);
    }

    public override RootfsMount Prepare(string key, string? parentChainId)
    {
        string dir = NewActiveDir(key);
        var (temp, _) = NewTemp(parentChainId, fs: false);
        Directory.CreateDirectory(Path.Combine(temp, "upper"));
        Directory.CreateDirectory(Path.Combine(temp, "work"));
        Directory.Move(temp, dir);
        return MountsOf(key);
    }

    public override RootfsMount MountsOf(string key)
    {
        string dir = ActiveDir(key);
        if (!Directory.Exists(dir)) throw new NotFoundException($"snapshot {key} not found");
        var lowers = new List<string>();
        for (var c = ReadParent(dir); c is not null; c = ParentOf(c))
            lowers.Add(Path.Combine(LayerDir(c), "fs"));
        if (lowers.Count == 0)
        {
            // An image without layers: overlay needs a lower directory; an empty one stands in.
            string empty = Path.Combine(dir, "empty");
            Directory.CreateDirectory(empty);
            lowers.Add(empty);
        }
        return new RootfsMount("overlay", lowers, Path.Combine(dir, "upper"), Path.Combine(dir, "work"), null);
    }

    public override void Mount(RootfsMount m, string target)
    {
        if (m.Type != "overlay") throw new ArgumentException("not an overlay mount", nameof(m));
        int fs = FsCalls.Fsopen("overlay", 1 /* FSOPEN_CLOEXEC */);
        if (fs < 0)
        {
            if (FsCalls.LastErrno == Errno.ENOSYS) { MountClassic(m, target); return; }
            throw new SystemCallException(FsCalls.LastErrno, "fsopen overlay");
        }
        try
        {
            foreach (var lower in m.LowerDirs)
            {
                if (FsCalls.Fsconfig(fs, FsCalls.FSCONFIG_SET_STRING, "lowerdir+", lower, 0) != 0)
                {
                    if (FsCalls.LastErrno == Errno.EINVAL && lower == m.LowerDirs[0]) { FsCalls.close(fs); fs = -1; MountClassic(m, target); return; }
                    throw new SystemCallException(FsCalls.LastErrno, $"overlay lowerdir+ {lower}");
                }
            }
            FsCalls.Check(FsCalls.Fsconfig(fs, FsCalls.FSCONFIG_SET_STRING, "upperdir", m.UpperDir, 0), "overlay upperdir");
            FsCalls.Check(FsCalls.Fsconfig(fs, FsCalls.FSCONFIG_SET_STRING, "workdir", m.WorkDir, 0), "overlay workdir");
            if (FsCalls.Fsconfig(fs, FsCalls.FSCONFIG_CMD_CREATE, null, null, 0) != 0)
                throw new SystemCallException(FsCalls.LastErrno, $"overlay mount of {m.LowerDirs.Count} layers");
            int mnt = FsCalls.Check(FsCalls.Fsmount(fs, 1 /* FSMOUNT_CLOEXEC */, 0), "fsmount overlay");
            try
            {
                FsCalls.Check(FsCalls.MoveMount(mnt, "", At.FDCWD, target, FsCalls.MOVE_MOUNT_F_EMPTY_PATH), $"move_mount to {target}");
            }
            finally { FsCalls.close(mnt); }
        }
        finally { if (fs >= 0) FsCalls.close(fs); }
    }

    private static void MountClassic(RootfsMount m, string target)
    {
        string opts = m.Options;
        if (opts.Length >= 4096) throw new ImageException($"overlay options for {m.LowerDirs.Count} layers exceed one page and this kernel has no lowerdir+");
        FsCalls.Check(FsCalls.mount("overlay", target, "overlay", 0, opts), $"mount overlay on {target}");
    }

    /// <summary>True when overlay (with whiteouts) can be mounted on top of <paramref name="root"/>.</summary>
    public static bool Works(string root, out string? reason)
    {
        reason = null;
        if (FsCalls.geteuid() != 0) { reason = "overlay whiteouts need root"; return false; }
        if (FsCalls.IsOverlay(root)) { reason = $"{root} is itself on overlayfs"; return false; }
        string probe = Path.Combine(root, "snapshots", $"probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            foreach (var d in new[] { "lower", "upper", "work", "merged" }) Directory.CreateDirectory(Path.Combine(probe, d));
            var m = new RootfsMount("overlay", [Path.Combine(probe, "lower")], Path.Combine(probe, "upper"), Path.Combine(probe, "work"), null);
            string merged = Path.Combine(probe, "merged");
            try
            {
                if (FsCalls.mount("overlay", merged, "overlay", 0, m.Options) != 0)
                {
                    reason = $"overlay mount failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(FsCalls.LastErrno)}";
                    return false;
                }
                FsCalls.umount2(merged, 2 /* MNT_DETACH */);
                return true;
            }
            catch (SystemCallException e) { reason = e.Message; return false; }
        }
        finally { SnapshotFiles.RemoveTree(probe); }
    }
}
