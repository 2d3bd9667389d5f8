using System.Text.Json.Serialization;

namespace Berth.Linux.Cgroups.Stats;

/// <summary>Source-generated serializer for the stats model (NativeAOT has no reflection-based JSON).</summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(CgroupStats))]
public sealed partial class CgroupStatsJsonContext : JsonSerializerContext;
