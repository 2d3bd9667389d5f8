using System.Text.Json.Serialization;
using Berth.Runtime.Init;
using Berth.Runtime.State;

namespace Berth.Runtime;

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false)]
[JsonSerializable(typeof(SavedState))]
[JsonSerializable(typeof(StateReport))]
[JsonSerializable(typeof(List<StateReport>))]
[JsonSerializable(typeof(InitRequest))]
[JsonSerializable(typeof(InitMessage))]
[JsonSerializable(typeof(List<int>))]
[JsonSerializable(typeof(Features))]
[JsonSerializable(typeof(LogEntry))]
public partial class RuntimeJsonContext : JsonSerializerContext
{
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(StateReport))]
[JsonSerializable(typeof(List<StateReport>))]
[JsonSerializable(typeof(Features))]
public partial class RuntimeIndentedJsonContext : JsonSerializerContext
{
}

public sealed class LogEntry
{
    [JsonPropertyName("level")] public string Level { get; set; } = "";
    [JsonPropertyName("msg")] public string Msg { get; set; } = "";
    [JsonPropertyName("time")] public string Time { get; set; } = "";
}
