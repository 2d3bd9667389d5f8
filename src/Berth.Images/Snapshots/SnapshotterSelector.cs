namespace Berth.Images.Snapshots;

/// <summary>
/// Picks the snapshotter for a store: the one already in use there, else overlay when a probe
/// mount works, else native (overlay on overlay, no root, no overlay in the kernel).
/// </summary>
public static class SnapshotterSelector
{
    public static ISnapshotter Open(string root, string? requested = null)
    {
        requested ??= Environment.GetEnvironmentVariable("BERTH_SNAPSHOTTER");
        switch (requested)
        {
            case "overlay" or "overlayfs": return new OverlaySnapshotter(root);
            case "native": return new NativeSnapshotter(root);
            case null or "" or "auto": break;
            default: throw new ImageException($"unknown snapshotter \"{requested}\" (overlay, native)");
        }
        string choice = Path.Combine(root, "snapshots", "driver");
        if (File.Exists(choice))
        {
            string name = File.ReadAllText(choice).Trim();
            return name == "native" ? new NativeSnapshotter(root) : new OverlaySnapshotter(root);
        }
        Directory.CreateDirectory(Path.Combine(root, "snapshots"));
        ISnapshotter s = OverlaySnapshotter.Works(root, out _) ? new OverlaySnapshotter(root) : new NativeSnapshotter(root);
        Store.AtomicFile.WriteAllText(choice, s.Name + "\n");
        return s;
    }
}
