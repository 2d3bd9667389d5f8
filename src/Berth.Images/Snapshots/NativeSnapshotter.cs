using Berth.Images.Layers;

namespace Berth.Images.Snapshots;

/// <summary>
/// Copy-based snapshots for where overlay cannot be used (overlay on overlay, no root): each
/// layer directory holds the whole tree up to that layer, made by copying its parent and applying
/// the layer's diff (whiteouts remove). A container gets its own copy, bind-mounted.
/// </summary>
public sealed class NativeSnapshotter : SnapshotterBase
{
    public NativeSnapshotter(string root) : base(Path.Combine(root, "snapshots", "native")) { }

    public override string Name => "native";
    public override WhiteoutMode WhiteoutMode => WhiteoutMode.Apply;

    public override LayerWriter BeginLayer(string chainId, string? parentChainId)
    {
        var (temp, fs) = NewTemp(parentChainId);
        if (parentChainId is not null)
        {
            if (!HasLayer(parentChainId)) throw new NotFoundException($"parent layer {parentChainId} not found");
            SnapshotFiles.CopyTree(Path.Combine(LayerDir(parentChainId), "fs"), fs);
        }
        return new LayerWriter(temp, LayerDir(chainId), fs);
    }

    public override RootfsMount Prepare(string key, string? parentChainId)
    {
        string dir = NewActiveDir(key);
        var (temp, fs) = NewTemp(parentChainId);
        if (parentChainId is not null) SnapshotFiles.CopyTree(Path.Combine(LayerDir(parentChainId), "fs"), fs);
        Directory.Move(temp, dir);
        return MountsOf(key);
    }

    public override RootfsMount MountsOf(string key)
    {
        string dir = ActiveDir(key);
        if (!Directory.Exists(dir)) throw new NotFoundException($"snapshot {key} not found");
        return new RootfsMount("bind", [], null, null, Path.Combine(dir, "fs"));
    }

    public override void Mount(RootfsMount m, string target)
    {
        if (m.Type != "bind" || m.Source is null) throw new ArgumentException("not a bind mount", nameof(m));
        Interop.FsCalls.Check(Interop.FsCalls.mount(m.Source, target, null, 4096 | 16384 /* MS_BIND|MS_REC */, null), $"bind {m.Source} on {target}");
    }
}
