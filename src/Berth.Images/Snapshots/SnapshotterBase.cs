using Berth.Images.Layers;

namespace Berth.Images.Snapshots;

/// <summary>
/// The on-disk bookkeeping both snapshotters share: <c>layers/CHAIN/{fs,parent}</c>,
/// <c>active/KEY/{...,parent}</c>, and <c>tmp/</c> for work in progress (renamed into place).
/// </summary>
public abstract class SnapshotterBase : ISnapshotter
{
    protected readonly string Base;

    protected SnapshotterBase(string baseDir)
    {
        Base = baseDir;
        Directory.CreateDirectory(Path.Combine(Base, "layers"));
        Directory.CreateDirectory(Path.Combine(Base, "active"));
        Directory.CreateDirectory(Path.Combine(Base, "tmp"));
        // Every layer is extracted in a randomly named directory below tmp/. Marked as a top directory,
        // ext4 places each such directory (and the files extracted into it) in a block group of its own.
        // Without the mark a new layer lands in the groups of the layers just removed, and on an ext4
        // without a journal each inode allocation then scans the group's recently freed inodes one by one
        // (ialloc.c: find_inode_bit -> recently_deleted, about 30 s after a delete): ~1 ms per file
        // instead of ~30 us, which made a pull after an rmi (or next to other builds) 20 times slower.
        Interop.FsCalls.TrySetTopDirectory(Path.Combine(Base, "tmp"));
    }

    public abstract string Name { get; }
    public abstract WhiteoutMode WhiteoutMode { get; }
    public abstract LayerWriter BeginLayer(string chainId, string? parentChainId);
    public abstract RootfsMount Prepare(string key, string? parentChainId);
    public abstract RootfsMount MountsOf(string key);
    public abstract void Mount(RootfsMount mount, string target);

    protected string LayerDir(string chainId) => Path.Combine(Base, "layers", Hex(chainId));
    protected string ActiveDir(string key)
    {
        if (key.Length == 0 || key.Contains('/') || key.StartsWith('.')) throw new ImageException($"invalid snapshot key \"{key}\"");
        return Path.Combine(Base, "active", key);
    }

    /// <summary>The directory for a new writable snapshot; refused when the key is taken.</summary>
    protected string NewActiveDir(string key)
    {
        string dir = ActiveDir(key);
        if (Directory.Exists(dir)) throw new ConflictException($"snapshot {key} already exists");
        return dir;
    }

    private static string Hex(string chainId) => chainId.StartsWith("sha256:", StringComparison.Ordinal) ? chainId[7..] : chainId;

    /// <summary>A fresh temporary directory with a <c>parent</c> file and (optionally) an empty <c>fs</c>.</summary>
    protected (string Temp, string Fs) NewTemp(string? parentChainId, bool fs = true)
    {
        string temp = Path.Combine(Base, "tmp", $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        File.WriteAllText(Path.Combine(temp, "parent"), parentChainId ?? "");
        string fsDir = Path.Combine(temp, "fs");
        if (fs)
        {
            Directory.CreateDirectory(fsDir);
            // Layer roots are 0755 like docker's; a layer's "./" entry may set otherwise.
            File.SetUnixFileMode(fsDir, (UnixFileMode)0b111_101_101);
        }
        return (temp, fsDir);
    }

    protected static string? ReadParent(string dir)
    {
        string p = Path.Combine(dir, "parent");
        if (!File.Exists(p)) return null;
        string s = File.ReadAllText(p).Trim();
        return s.Length == 0 ? null : s;
    }

    public bool HasLayer(string chainId) => Directory.Exists(LayerDir(chainId));

    public string LayerDirectory(string chainId) => Path.Combine(LayerDir(chainId), "fs");

    public IEnumerable<string> Layers() =>
        Directory.EnumerateDirectories(Path.Combine(Base, "layers")).Select(d => "sha256:" + Path.GetFileName(d));

    public string? ParentOf(string chainId) => ReadParent(LayerDir(chainId));

    public void RemoveLayer(string chainId)
    {
        RemoveByRename(LayerDir(chainId));
    }

    public IEnumerable<(string Key, string? Parent)> Active() =>
        Directory.EnumerateDirectories(Path.Combine(Base, "active")).Select(d => (Path.GetFileName(d), ReadParent(d)));

    public void RemoveActive(string key)
    {
        RemoveByRename(ActiveDir(key));
    }

    public string? DetachActive(string key)
    {
        string dir = ActiveDir(key);
        if (!Directory.Exists(dir)) return null;
        string doomed = Path.Combine(Base, "tmp", $"rm-{Guid.NewGuid():N}");
        Directory.Move(dir, doomed);
        return doomed;
    }

    public void DeleteDetached(string path) => SnapshotFiles.RemoveTree(path);

    /// <summary>Renames a snapshot into tmp/ first, so that a crash never leaves a half-removed one under its real name.</summary>
    private void RemoveByRename(string dir)
    {
        if (!Directory.Exists(dir)) return;
        string doomed = Path.Combine(Base, "tmp", $"rm-{Guid.NewGuid():N}");
        Directory.Move(dir, doomed);
        SnapshotFiles.RemoveTree(doomed);
    }

    public int CleanTemporary()
    {
        int n = 0;
        foreach (var d in Directory.EnumerateDirectories(Path.Combine(Base, "tmp")))
        {
            // Skip work of live processes (the pid prefix); everything else is debris of a crash.
            string name = Path.GetFileName(d);
            int dash = name.IndexOf('-');
            if (dash > 0 && int.TryParse(name[..dash], out int pid) && pid != Environment.ProcessId && Directory.Exists($"/proc/{pid}"))
                continue;
            if (dash > 0 && int.TryParse(name[..dash], out pid) && pid == Environment.ProcessId) continue;
            SnapshotFiles.RemoveTree(d);
            n++;
        }
        return n;
    }

    public long SizeOf(string chainId)
    {
        string fs = Path.Combine(LayerDir(chainId), "fs");
        return Directory.Exists(fs) ? SnapshotFiles.DiskUsage(fs) : 0;
    }
}
