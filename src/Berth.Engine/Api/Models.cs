using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Engine.Events;

namespace Berth.Engine.Api;

/// <summary>Docker's container Config (the part of create's body and of inspect that is not HostConfig).</summary>
public sealed class ContainerConfig
{
    public string Hostname { get; set; } = "";
    public string Domainname { get; set; } = "";
    public string User { get; set; } = "";
    public bool AttachStdin { get; set; }
    public bool AttachStdout { get; set; }
    public bool AttachStderr { get; set; }
    public Dictionary<string, JsonElement>? ExposedPorts { get; set; }
    public bool Tty { get; set; }
    public bool OpenStdin { get; set; }
    public bool StdinOnce { get; set; }
    public List<string>? Env { get; set; }
    public List<string>? Cmd { get; set; }
    public string Image { get; set; } = "";
    public Dictionary<string, JsonElement>? Volumes { get; set; }
    public string WorkingDir { get; set; } = "";
    public List<string>? Entrypoint { get; set; }
    public List<string>? OnBuild { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? StopSignal { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? StopTimeout { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? NetworkDisabled { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public HealthConfig? Healthcheck { get; set; }
}

/// <summary>docker's Healthcheck (durations in nanoseconds; Test ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."]).</summary>
public sealed class HealthConfig
{
    public List<string>? Test { get; set; }
    public long Interval { get; set; }
    public long Timeout { get; set; }
    public long StartPeriod { get; set; }
    public long StartInterval { get; set; }
    public int Retries { get; set; }
}

/// <summary>State.Health in inspect.</summary>
public sealed class HealthState
{
    public string Status { get; set; } = "starting";
    public int FailingStreak { get; set; }
    public List<HealthLogEntry> Log { get; set; } = [];
}

public sealed class HealthLogEntry
{
    public string Start { get; set; } = "";
    public string End { get; set; } = "";
    public int ExitCode { get; set; }
    public string Output { get; set; } = "";
}

/// <summary>One entry of HostConfig.Mounts (`--mount`).</summary>
public sealed class MountSpec
{
    public string Type { get; set; } = "";
    public string Source { get; set; } = "";
    public string Target { get; set; } = "";
    public bool ReadOnly { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public MountBindOptions? BindOptions { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public MountTmpfsOptions? TmpfsOptions { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class MountBindOptions
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Propagation { get; set; }
    public bool NonRecursive { get; set; }
    public bool CreateMountpoint { get; set; }
}

public sealed class MountTmpfsOptions
{
    public long SizeBytes { get; set; }
    public uint Mode { get; set; }
}

/// <summary>POST /containers/{id}/update: the resources and the restart policy.</summary>
public sealed class UpdateRequest
{
    public long Memory { get; set; }
    public long MemorySwap { get; set; }
    public long MemoryReservation { get; set; }
    public long CpuShares { get; set; }
    public long NanoCpus { get; set; }
    public long CpuPeriod { get; set; }
    public long CpuQuota { get; set; }
    public string CpusetCpus { get; set; } = "";
    public string CpusetMems { get; set; } = "";
    public long? PidsLimit { get; set; }
    public ushort BlkioWeight { get; set; }
    public RestartPolicy? RestartPolicy { get; set; }
}

public sealed class UpdateResponse { public List<string> Warnings { get; set; } = []; }

public sealed class RestartPolicy
{
    public string Name { get; set; } = "no";
    public int MaximumRetryCount { get; set; }
}

public sealed class LogConfig
{
    public string Type { get; set; } = "json-file";
    public Dictionary<string, string> Config { get; set; } = new();
}

/// <summary>The HostConfig fields Berth honours; everything else is kept as given and shown by inspect.</summary>
public sealed class HostConfig
{
    public List<string>? Binds { get; set; }
    public List<string>? VolumesFrom { get; set; }
    public LogConfig? LogConfig { get; set; }
    public string NetworkMode { get; set; } = "default";
    public RestartPolicy? RestartPolicy { get; set; }
    public bool AutoRemove { get; set; }
    public List<string>? CapAdd { get; set; }
    public List<string>? CapDrop { get; set; }
    public List<string>? ExtraHosts { get; set; }
    public List<string>? Dns { get; set; }
    public List<string>? DnsSearch { get; set; }
    public List<string>? DnsOptions { get; set; }
    public List<string>? GroupAdd { get; set; }
    public string IpcMode { get; set; } = "";
    public string PidMode { get; set; } = "";
    public string UTSMode { get; set; } = "";
    public bool Privileged { get; set; }
    public bool ReadonlyRootfs { get; set; }
    public List<string>? SecurityOpt { get; set; }
    public long ShmSize { get; set; }
    public long Memory { get; set; }
    public long MemorySwap { get; set; }
    public long NanoCpus { get; set; }
    public long CpuShares { get; set; }
    public long CpuPeriod { get; set; }
    public long CpuQuota { get; set; }
    public string CpusetCpus { get; set; } = "";
    public string CpusetMems { get; set; } = "";
    public long MemoryReservation { get; set; }
    public bool? OomKillDisable { get; set; }
    public ushort BlkioWeight { get; set; }
    public List<MountSpec>? Mounts { get; set; }
    public long? PidsLimit { get; set; }
    public bool? Init { get; set; }
    public string CgroupParent { get; set; } = "";
    public List<int>? ConsoleSize { get; set; }
    public Dictionary<string, string>? Tmpfs { get; set; }
    public Dictionary<string, string>? Sysctls { get; set; }
    public List<Ulimit>? Ulimits { get; set; }
    public List<DeviceMapping>? Devices { get; set; }
    public List<string>? DeviceCgroupRules { get; set; }
    public int OomScoreAdj { get; set; }
    public List<string>? MaskedPaths { get; set; }
    public List<string>? ReadonlyPaths { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>--device HOST[:CONTAINER[:PERMISSIONS]].</summary>
public sealed class DeviceMapping
{
    public string PathOnHost { get; set; } = "";
    public string PathInContainer { get; set; } = "";
    public string CgroupPermissions { get; set; } = "";
}

public sealed class Ulimit
{
    public string Name { get; set; } = "";
    public long Soft { get; set; }
    public long Hard { get; set; }
}

/// <summary>POST /containers/create: Config at the top level, HostConfig and NetworkingConfig beside it.</summary>
public sealed class CreateRequest
{
    public string Hostname { get; set; } = "";
    public string Domainname { get; set; } = "";
    public string User { get; set; } = "";
    public bool AttachStdin { get; set; }
    public bool AttachStdout { get; set; }
    public bool AttachStderr { get; set; }
    public Dictionary<string, JsonElement>? ExposedPorts { get; set; }
    public bool Tty { get; set; }
    public bool OpenStdin { get; set; }
    public bool StdinOnce { get; set; }
    public List<string>? Env { get; set; }
    public List<string>? Cmd { get; set; }
    public string? Image { get; set; }
    public Dictionary<string, JsonElement>? Volumes { get; set; }
    public string? WorkingDir { get; set; }
    public List<string>? Entrypoint { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public string? StopSignal { get; set; }
    public int? StopTimeout { get; set; }
    public HealthConfig? Healthcheck { get; set; }
    public HostConfig? HostConfig { get; set; }
    public JsonElement? NetworkingConfig { get; set; }
}

public sealed class ContainerStateDto
{
    public string Status { get; set; } = "created";
    public bool Running { get; set; }
    public bool Paused { get; set; }
    public bool Restarting { get; set; }
    public bool OOMKilled { get; set; }
    public bool Dead { get; set; }
    public int Pid { get; set; }
    public int ExitCode { get; set; }
    public string Error { get; set; } = "";
    public string StartedAt { get; set; } = ZeroTime;
    public string FinishedAt { get; set; } = ZeroTime;
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public HealthState? Health { get; set; }
    public const string ZeroTime = "0001-01-01T00:00:00Z";
}

/// <summary>What Berth keeps per container (config.v2.json), also the core of inspect.</summary>
public sealed class ContainerRecord
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Created { get; set; } = "";
    public string Path { get; set; } = "";
    public List<string> Args { get; set; } = [];
    public string ImageId { get; set; } = "";
    public ContainerConfig Config { get; set; } = new();
    public HostConfig HostConfig { get; set; } = new();
    public ContainerStateDto State { get; set; } = new();
    public int RestartCount { get; set; }
    public string LogPath { get; set; } = "";
    public string HostnamePath { get; set; } = "";
    public string HostsPath { get; set; } = "";
    public string ResolvConfPath { get; set; } = "";
    /// <summary>True once a user asked it to stop (restart policies then leave it stopped).</summary>
    public bool StoppedByUser { get; set; }
    /// <summary>Set while a shim owns a running init (for live restore).</summary>
    public bool HasShim { get; set; }
    /// <summary>The mounts --volumes-from took from other containers at create, as binds ("SOURCE:DEST:MODE").</summary>
    public List<string>? VolumesFromBinds { get; set; }
    /// <summary>The container's places on user networks, by network id.</summary>
    public Dictionary<string, Berth.Engine.Networks.EndpointRecord>? Endpoints { get; set; }
    /// <summary>The ports published while it runs, with the host ports actually bound (-P and -p PORT pick one).</summary>
    public List<Berth.Engine.Networks.PortMapping>? PublishedPorts { get; set; }
}

public sealed class ContainerInspect
{
    public string Id { get; set; } = "";
    public string Created { get; set; } = "";
    public string Path { get; set; } = "";
    public List<string> Args { get; set; } = [];
    public ContainerStateDto State { get; set; } = new();
    public string Image { get; set; } = "";
    public string ResolvConfPath { get; set; } = "";
    public string HostnamePath { get; set; } = "";
    public string HostsPath { get; set; } = "";
    public string LogPath { get; set; } = "";
    public string Name { get; set; } = "";
    public int RestartCount { get; set; }
    public string Driver { get; set; } = "overlay2";
    public string Platform { get; set; } = "linux";
    public string MountLabel { get; set; } = "";
    public string ProcessLabel { get; set; } = "";
    public string AppArmorProfile { get; set; } = "";
    public List<string>? ExecIDs { get; set; }
    public HostConfig HostConfig { get; set; } = new();
    public GraphDriver GraphDriver { get; set; } = new();
    public List<JsonElement> Mounts { get; set; } = [];
    public ContainerConfig Config { get; set; } = new();
    public NetworkSettings NetworkSettings { get; set; } = new();
}

public sealed class GraphDriver
{
    public Dictionary<string, string>? Data { get; set; }
    public string Name { get; set; } = "overlay2";
}

public sealed class NetworkSettings
{
    public string Bridge { get; set; } = "";
    public string SandboxID { get; set; } = "";
    public string SandboxKey { get; set; } = "";
    public Dictionary<string, JsonElement?> Ports { get; set; } = new();
    public string Gateway { get; set; } = "";
    public string IPAddress { get; set; } = "";
    public int IPPrefixLen { get; set; }
    public string MacAddress { get; set; } = "";
    public Dictionary<string, EndpointSettings> Networks { get; set; } = new();
}

public sealed class EndpointSettings
{
    public string NetworkID { get; set; } = "";
    public string EndpointID { get; set; } = "";
    public string Gateway { get; set; } = "";
    public string IPAddress { get; set; } = "";
    public int IPPrefixLen { get; set; }
    public string MacAddress { get; set; } = "";
    public List<string>? Aliases { get; set; }
}

public sealed class ContainerSummary
{
    public string Id { get; set; } = "";
    public List<string> Names { get; set; } = [];
    public string Image { get; set; } = "";
    public string ImageID { get; set; } = "";
    public string Command { get; set; } = "";
    public long Created { get; set; }
    public List<JsonElement> Ports { get; set; } = [];
    public Dictionary<string, string> Labels { get; set; } = new();
    public string State { get; set; } = "";
    public string Status { get; set; } = "";
    public SummaryHostConfig HostConfig { get; set; } = new();
    public SummaryNetworks NetworkSettings { get; set; } = new();
    public List<JsonElement> Mounts { get; set; } = [];
}

public sealed class SummaryHostConfig { public string NetworkMode { get; set; } = "default"; }
public sealed class SummaryNetworks { public Dictionary<string, EndpointSettings> Networks { get; set; } = new(); }

public sealed class CreateResponse
{
    public string Id { get; set; } = "";
    public List<string> Warnings { get; set; } = [];
}

public sealed class IdResponse { public string Id { get; set; } = ""; }

public sealed class WaitResponse
{
    public int StatusCode { get; set; }
    public WaitError? Error { get; set; }
}

public sealed class WaitError { public string Message { get; set; } = ""; }

public sealed class ErrorResponse { [JsonPropertyName("message")] public string Message { get; set; } = ""; }

public sealed class ExecCreateRequest
{
    public string User { get; set; } = "";
    public bool Privileged { get; set; }
    public bool Tty { get; set; }
    public bool AttachStdin { get; set; }
    public bool AttachStdout { get; set; }
    public bool AttachStderr { get; set; }
    public bool Detach { get; set; }
    public string DetachKeys { get; set; } = "";
    public List<string>? Env { get; set; }
    public string WorkingDir { get; set; } = "";
    public List<string>? Cmd { get; set; }
    public List<int>? ConsoleSize { get; set; }
}

public sealed class ExecStartRequest
{
    public bool Detach { get; set; }
    public bool Tty { get; set; }
    public List<int>? ConsoleSize { get; set; }
}

public sealed class ExecInspect
{
    public string ID { get; set; } = "";
    public bool Running { get; set; }
    public int? ExitCode { get; set; }
    public ProcessConfigDto ProcessConfig { get; set; } = new();
    public bool OpenStdin { get; set; }
    public bool OpenStderr { get; set; }
    public bool OpenStdout { get; set; }
    public bool CanRemove { get; set; }
    public string ContainerID { get; set; } = "";
    public string DetachKeys { get; set; } = "";
    public int Pid { get; set; }
}

public sealed class ProcessConfigDto
{
    [JsonPropertyName("tty")] public bool Tty { get; set; }
    [JsonPropertyName("entrypoint")] public string Entrypoint { get; set; } = "";
    [JsonPropertyName("arguments")] public List<string> Arguments { get; set; } = [];
    [JsonPropertyName("privileged")] public bool Privileged { get; set; }
    [JsonPropertyName("user")] public string User { get; set; } = "";
}

public sealed class TopResponse
{
    public List<string> Titles { get; set; } = [];
    public List<List<string>> Processes { get; set; } = [];
}

public sealed class VersionComponent
{
    public string Name { get; set; } = "";
    public string Version { get; set; } = "";
    public Dictionary<string, string>? Details { get; set; }
}

public sealed class VersionResponse
{
    public Dictionary<string, string> Platform { get; set; } = new() { ["Name"] = "Berth Engine" };
    public List<VersionComponent> Components { get; set; } = [];
    public string Version { get; set; } = "";
    public string ApiVersion { get; set; } = "";
    public string MinAPIVersion { get; set; } = "";
    public string GitCommit { get; set; } = "";
    public string GoVersion { get; set; } = "";
    public string Os { get; set; } = "linux";
    public string Arch { get; set; } = "amd64";
    public string KernelVersion { get; set; } = "";
    public string BuildTime { get; set; } = "";
}

public sealed class ExitFile
{
    [JsonPropertyName("exitCode")] public int ExitCode { get; set; }
    [JsonPropertyName("oomKilled")] public bool OomKilled { get; set; }
    [JsonPropertyName("exitedAtUnixNano")] public long ExitedAtUnixNano { get; set; }
    [JsonPropertyName("exitedAt")] public string ExitedAt { get; set; } = "";
}

public sealed class JsonLogLine
{
    [JsonPropertyName("log")] public string Log { get; set; } = "";
    [JsonPropertyName("stream")] public string Stream { get; set; } = "";
    [JsonPropertyName("time")] public DateTime Time { get; set; }
}

public sealed class RuntimeProcessEntry
{
    [JsonPropertyName("pid")] public int Pid { get; set; }
}

/// <summary>One entry of the container list's Ports (docker's types.Port): IP and PublicPort only when published.</summary>
public sealed class SummaryPort
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? IP { get; set; }
    public int PrivatePort { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int PublicPort { get; set; }
    public string Type { get; set; } = "tcp";
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(SummaryPort))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(List<Dictionary<string, string>>))]
[JsonSerializable(typeof(ContainerRecord))]
[JsonSerializable(typeof(CreateRequest))]
[JsonSerializable(typeof(ContainerInspect))]
[JsonSerializable(typeof(List<ContainerSummary>))]
[JsonSerializable(typeof(CreateResponse))]
[JsonSerializable(typeof(IdResponse))]
[JsonSerializable(typeof(WaitResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(ExecCreateRequest))]
[JsonSerializable(typeof(ExecStartRequest))]
[JsonSerializable(typeof(ExecInspect))]
[JsonSerializable(typeof(TopResponse))]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(EventMessage))]
[JsonSerializable(typeof(ExitFile))]
[JsonSerializable(typeof(UpdateRequest))]
[JsonSerializable(typeof(UpdateResponse))]
[JsonSerializable(typeof(JsonLogLine))]
[JsonSerializable(typeof(Dictionary<string, List<string>>))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, bool>>))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(List<JsonElement>))]
public partial class EngineJsonContext : JsonSerializerContext
{
}
