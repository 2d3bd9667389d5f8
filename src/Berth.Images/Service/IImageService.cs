using Berth.Images.Models;

namespace Berth.Images.Service;

/// <summary>A step of a pull or push, for a progress display: one line per layer, as docker shows them.</summary>
public sealed record ProgressEvent(string Id, string Status, long Current = 0, long Total = 0);

/// <summary>One row of <c>berth images</c>.</summary>
public sealed record ImageSummary(string Id, string Repository, string Tag, string? Digest, DateTimeOffset Created, long Size,
    IReadOnlyDictionary<string, string> Labels);

/// <summary>One row of <c>berth history</c>.</summary>
public sealed record HistoryRow(string Id, DateTimeOffset? Created, string CreatedBy, long Size, string Comment);

public sealed record PruneResult(IReadOnlyList<string> Untagged, IReadOnlyList<string> Deleted, long SpaceReclaimed);

public enum ArchiveFormat { Docker, Oci }

/// <summary>
/// The image operations the CLI (and later the daemon's API) call. Every failure a user can
/// cause throws <see cref="ImageException"/> with a one-line message; the store is left as it was.
/// </summary>
public interface IImageService
{
    /// <summary>Pulls an image; returns its id.</summary>
    Task<string> PullAsync(string reference, string? platform, IProgress<ProgressEvent>? progress, CancellationToken ct = default);

    /// <summary>Pushes a tagged image; returns the manifest digest the registry stored.</summary>
    Task<string> PushAsync(string reference, IProgress<ProgressEvent>? progress, CancellationToken ct = default);

    void Tag(string source, string target);

    /// <summary>Untags and removes; returns docker's "Untagged: ..."/"Deleted: ..." lines.</summary>
    IReadOnlyList<string> Remove(string nameOrId, bool force);

    IReadOnlyList<ImageSummary> List(IReadOnlyList<string> filters, bool all = false);

    /// <summary>docker image inspect's JSON array for the named images.</summary>
    string Inspect(IReadOnlyList<string> namesOrIds);

    IReadOnlyList<HistoryRow> History(string nameOrId);

    void Save(IReadOnlyList<string> namesOrIds, Stream output, ArchiveFormat format);

    /// <summary>Loads a docker-archive or OCI layout tarball; returns "Loaded image: ..." lines.</summary>
    IReadOnlyList<string> Load(Stream input);

    /// <summary>Imports a root filesystem tarball as a one-layer image; returns its id.</summary>
    string Import(Stream tarball, string? reference, IReadOnlyList<string> changes, string? message);

    PruneResult Prune(bool all, IReadOnlyList<string> filters);

    /// <summary>Removes blobs and snapshots no image or container refers to; returns bytes freed.</summary>
    long CollectGarbage();

    ImageConfig GetConfig(string nameOrId);
}
