namespace Berth.Images.Snapshots;

/// <summary>A layer being made: extract into <see cref="Directory"/>, then <see cref="Commit"/>; dispose without commit discards.</summary>
public sealed class LayerWriter : IDisposable
{
    private readonly string _tempRoot;
    private readonly string _finalRoot;
    private bool _done;

    internal LayerWriter(string tempRoot, string finalRoot, string directory)
    {
        _tempRoot = tempRoot;
        _finalRoot = finalRoot;
        Directory = directory;
    }

    /// <summary>The directory the layer's content goes into.</summary>
    public string Directory { get; }

    /// <summary>
    /// True once <see cref="Commit"/> has synced the filesystem the layer is on (one syncfs for the
    /// whole layer: every file written before it, on that filesystem, is durable).
    /// </summary>
    public bool SyncedFilesystem { get; private set; }

    /// <summary>The device the layer is on (to tell whether another file shares its syncfs).</summary>
    public ulong Device { get; private set; }

    public void Commit()
    {
        if (System.IO.Directory.Exists(_finalRoot))
        {
            // Another pull made the same layer meanwhile: keep that one.
            SnapshotFiles.RemoveTree(_tempRoot);
        }
        else
        {
            Device = SnapshotFiles.DeviceOf(_tempRoot);
            SyncedFilesystem = SnapshotFiles.SyncFilesystem(_tempRoot);
            System.IO.Directory.Move(_tempRoot, _finalRoot);
            Content.ContentStore.FsyncDirectory(Path.GetDirectoryName(_finalRoot)!);
        }
        _done = true;
    }

    public void Dispose()
    {
        if (!_done) SnapshotFiles.RemoveTree(_tempRoot);
        _done = true;
    }
}
