namespace Berth.Images.Snapshots;

/// <summary>
/// A directory tree copied with owners, modes, xattrs, times, hard links and device nodes, never
/// following a symlink: the native snapshotter's copy-up, and the engine's for a new volume.
/// </summary>
public static class TreeCopy
{
    /// <summary>Copies the content of <paramref name="source"/> into the existing directory <paramref name="destination"/>, and its metadata onto it.</summary>
    public static void Copy(string source, string destination) => SnapshotFiles.CopyTree(source, destination);
}
