using System.Text.Json;
using Berth.Images.Content;
using Berth.Images.Models;
using Berth.Images.References;

namespace Berth.Images.Service;

/// <summary>What <see cref="ImageService.CommitImage"/> records besides the layer.</summary>
/// <param name="ParentImageId">The image the new one is built on (null: a base image of one layer).</param>
/// <param name="Config">The new image's runtime config (the container's, with --change applied).</param>
/// <param name="CreatedBy">The history line (docker puts the container's command there).</param>
/// <param name="Reference">A tag for the new image, or null for an untagged one.</param>
public sealed record CommitRequest(string? ParentImageId, ContainerConfig Config, string? Comment, string? Author, string CreatedBy, string? Reference);

public sealed partial class ImageService
{
    /// <summary>
    /// Makes an image from a parent image plus one layer on top: <paramref name="writeLayer"/> writes the
    /// layer as an uncompressed OCI layer tar (whiteouts as <c>.wh.</c> files). The layer's blob is its
    /// diff id; the config is the parent's with the new diff id, config and a history entry; the layer is
    /// extracted into a snapshot like a pulled one. Returns the new image id.
    /// </summary>
    /// <remarks>A null <paramref name="writeLayer"/> makes an image of the parent's layers with only a new config
    /// (a builder's ENV, CMD, LABEL...), its history entry marked empty_layer as docker's.</remarks>
    public string CommitImage(CommitRequest request, Action<Stream>? writeLayer)
    {
        var target = request.Reference is null ? null : ImageReference.Parse(request.Reference);
        if (target?.Digest is not null) throw new ImageException($"cannot commit to a digest reference: {request.Reference}");
        return AsWriter(() => CommitCore(request, target, writeLayer));
    }

    private string CommitCore(CommitRequest r, ImageReference? target, Action<Stream>? writeLayer)
    {
        ImageConfig? parent = null;
        ImageManifest? parentManifest = null;
        if (r.ParentImageId is { } pid)
        {
            var rec = Resolve(pid);
            parent = GetConfigById(rec.Id);
            parentManifest = ManifestOf(rec);
        }

        Digest? layer = null;
        long size = 0;
        if (writeLayer is not null)
        {
            using var w = Content.BeginWrite(null, null);
            writeLayer(w);
            size = w.Written;
            layer = w.Commit();
        }

        var now = DateTimeOffset.UtcNow;
        var host = Manifests.HostPlatform();
        var history = parent?.History?.ToList() ?? [];
        history.Add(new HistoryEntry { Created = now, CreatedBy = r.CreatedBy, Author = Empty(r.Author), Comment = Empty(r.Comment), EmptyLayer = layer is null ? true : (bool?)null });
        var diffIds = parent?.RootFs.DiffIds.ToList() ?? [];
        if (layer is not null) diffIds.Add(layer.ToString()!);
        var cfg = new ImageConfig
        {
            Created = now,
            Author = Empty(r.Author),
            Architecture = parent?.Architecture ?? host.Architecture,
            Os = parent?.Os ?? host.Os,
            Variant = parent?.Variant,
            Config = r.Config,
            RootFs = new RootFs { DiffIds = diffIds },
            History = history,
            Comment = Empty(r.Comment),
        };
        var layers = parentManifest?.Layers.ToList() ?? [];
        if (layer is not null) layers.Add(new Descriptor { MediaType = MediaTypes.OciLayer, Digest = layer.ToString()!, Size = size });
        byte[] cfgBytes = JsonSerializer.SerializeToUtf8Bytes(cfg, ImagesJsonContext.Default.ImageConfig);
        var record = BuildRecord(cfgBytes, Digest.Of(cfgBytes), MediaTypes.OciConfig, layers, cfg);
        FinishLoad([(record, target is null ? [] : [target.ToString()])]);
        return record.Id;
    }

    private static string? Empty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
