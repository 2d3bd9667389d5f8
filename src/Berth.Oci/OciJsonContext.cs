using System.Text.Json.Serialization;
using Berth.Oci.Runtime;

namespace Berth.Oci;

// One source-generated context for every OCI document, so NativeAOT needs no reflection.
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(Spec))]
[JsonSerializable(typeof(ContainerState))]
[JsonSerializable(typeof(LinuxResources))]
[JsonSerializable(typeof(Process))]
public partial class OciJsonContext : JsonSerializerContext
{
}
