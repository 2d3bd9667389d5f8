using System.Text.Json.Serialization;
using Berth.Images.Models;

namespace Berth.Images.Store;

/// <summary>One image in the store: its id (the config digest) and how it came to be.</summary>
public sealed class ImageRecord
{
    /// <summary>The image id: the digest of its config, as docker's.</summary>
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    /// <summary>The platform manifest (its digest is in the content store).</summary>
    [JsonPropertyName("manifest")] public Descriptor Manifest { get; set; } = new();
    /// <summary>Chain ids of the layers, bottom first.</summary>
    [JsonPropertyName("chainIds")] public List<string> ChainIds { get; set; } = [];
    /// <summary><c>repo@digest</c> of what was pulled or pushed (docker's RepoDigests).</summary>
    [JsonPropertyName("repoDigests")] public List<string> RepoDigests { get; set; } = [];
    /// <summary>Repositories the blobs are known to be in (for cross-repository mounts on push).</summary>
    [JsonPropertyName("sources")] public List<string> Sources { get; set; } = [];
    [JsonPropertyName("added")] public DateTimeOffset Added { get; set; }
    [JsonPropertyName("lastTagTime")] public DateTimeOffset? LastTagTime { get; set; }
    [JsonPropertyName("size")] public long Size { get; set; }
}

/// <summary>The whole metadata file: images by id, and tags (fully qualified references) to ids.</summary>
public sealed class StoreMetadata
{
    [JsonPropertyName("version")] public int Version { get; set; } = 1;
    [JsonPropertyName("images")] public Dictionary<string, ImageRecord> Images { get; set; } = new();
    [JsonPropertyName("tags")] public SortedDictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);
}
