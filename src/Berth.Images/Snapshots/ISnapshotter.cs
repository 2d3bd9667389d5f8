using Berth.Images.Layers;

namespace Berth.Images.Snapshots;

/// <summary>
/// Where a container's root filesystem comes from: read-only committed layers (named by their
/// chain id) and, per container, one writable top. Layers are extracted into a temporary
/// directory and renamed into place on commit, so a layer is either whole or absent.
/// </summary>
public interface ISnapshotter
{
    string Name { get; }

    /// <summary>How a layer's whiteouts must be written for this snapshotter.</summary>
    WhiteoutMode WhiteoutMode { get; }

    bool HasLayer(string chainId);

    /// <summary>
    /// Starts a layer. The writer's <see cref="LayerWriter.Directory"/> is where the layer's tar is
    /// extracted; for a copy-based snapshotter it already holds the parent's tree.
    /// </summary>
    LayerWriter BeginLayer(string chainId, string? parentChainId);

    /// <summary>The chain ids of committed layers.</summary>
    IEnumerable<string> Layers();

    /// <summary>The parent chain id of a committed layer (null for a base layer).</summary>
    string? ParentOf(string chainId);

    void RemoveLayer(string chainId);

    /// <summary>The directory holding a committed layer's files.</summary>
    string LayerDirectory(string chainId);

    /// <summary>Creates a writable snapshot on top of <paramref name="parentChainId"/> for a container.</summary>
    RootfsMount Prepare(string key, string? parentChainId);

    /// <summary>The mount of an existing writable snapshot.</summary>
    RootfsMount MountsOf(string key);

    /// <summary>Writable snapshots: key and parent chain id.</summary>
    IEnumerable<(string Key, string? Parent)> Active();

    void RemoveActive(string key);

    /// <summary>
    /// The first half of <see cref="RemoveActive"/>: the snapshot leaves its name at once (renamed
    /// into tmp/) and the path it now has is returned (null if there was none), for
    /// <see cref="DeleteDetached"/> later. A crash in between leaves debris that CleanTemporary removes.
    /// </summary>
    string? DetachActive(string key);

    void DeleteDetached(string path);

    /// <summary>Mounts a writable snapshot's root filesystem at <paramref name="target"/>.</summary>
    void Mount(RootfsMount mount, string target);

    /// <summary>Removes temporary directories left by interrupted extractions.</summary>
    int CleanTemporary();

    /// <summary>Bytes used by a committed layer's own directory.</summary>
    long SizeOf(string chainId);
}

/// <summary>A container root filesystem: overlay (lower dirs top first, upper, work) or a bind of one directory.</summary>
public sealed record RootfsMount(string Type, IReadOnlyList<string> LowerDirs, string? UpperDir, string? WorkDir, string? Source)
{
    /// <summary>The classic mount(2) option string (may exceed one page for many layers; <see cref="OverlaySnapshotter"/> mounts without it).</summary>
    public string Options => Type == "overlay"
        ? $"lowerdir={string.Join(':', LowerDirs)},upperdir={UpperDir},workdir={WorkDir}"
        : "rbind";
}
