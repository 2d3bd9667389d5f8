using System.Text.Json.Serialization;
using Berth.Images.Store;

namespace Berth.Images.Models;

/// <summary>Source-generated JSON for every document Berth.Images reads or writes (NativeAOT-safe).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip)]
[JsonSerializable(typeof(Descriptor))]
[JsonSerializable(typeof(ImageManifest))]
[JsonSerializable(typeof(ImageIndex))]
[JsonSerializable(typeof(ManifestProbe))]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(OciLayoutFile))]
[JsonSerializable(typeof(List<DockerArchiveEntry>))]
[JsonSerializable(typeof(StoreMetadata))]
[JsonSerializable(typeof(Dictionary<string, string>))]
public partial class ImagesJsonContext : JsonSerializerContext
{
}
