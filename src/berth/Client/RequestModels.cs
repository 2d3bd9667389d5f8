using System.Text.Json.Serialization;

namespace Berth.Cli.Client;

// The request bodies the CLI sends, in the Docker Engine API's field names. Responses are read as
// JsonDocument (inspect's --format walks them), so only what we write has a type here.

/// <summary>POST /containers/create: the container Config with HostConfig and NetworkingConfig beside it.</summary>
public sealed class CreateBody
{
    public string Hostname { get; set; } = "";
    public string Domainname { get; set; } = "";
    public string User { get; set; } = "";
    public bool AttachStdin { get; set; }
    public bool AttachStdout { get; set; }
    public bool AttachStderr { get; set; }
    public Dictionary<string, EmptyObject>? ExposedPorts { get; set; }
    public bool Tty { get; set; }
    public bool OpenStdin { get; set; }
    public bool StdinOnce { get; set; }
    public List<string>? Env { get; set; }
    public List<string>? Cmd { get; set; }
    public HealthConfig? Healthcheck { get; set; }
    public string Image { get; set; } = "";
    public Dictionary<string, EmptyObject> Volumes { get; set; } = new();
    public string WorkingDir { get; set; } = "";
    public List<string>? Entrypoint { get; set; }
    public Dictionary<string, string> Labels { get; set; } = new();
    public string? StopSignal { get; set; }
    public int? StopTimeout { get; set; }
    public HostConfigBody HostConfig { get; set; } = new();
    public NetworkingConfigBody NetworkingConfig { get; set; } = new();
}

public sealed class EmptyObject { }

public sealed class HealthConfig
{
    public List<string>? Test { get; set; }
    public long Interval { get; set; }
    public long Timeout { get; set; }
    public long StartPeriod { get; set; }
    public long StartInterval { get; set; }
    public int Retries { get; set; }
}

public sealed class HostConfigBody
{
    public List<string>? Binds { get; set; }
    public string ContainerIDFile { get; set; } = "";
    public LogConfigBody LogConfig { get; set; } = new();
    public string NetworkMode { get; set; } = "default";
    public Dictionary<string, List<PortBindingBody>> PortBindings { get; set; } = new();
    public RestartPolicyBody RestartPolicy { get; set; } = new();
    public bool AutoRemove { get; set; }
    public List<string>? VolumesFrom { get; set; }
    public List<int> ConsoleSize { get; set; } = [0, 0];
    public List<string>? CapAdd { get; set; }
    public List<string>? CapDrop { get; set; }
    public string CgroupnsMode { get; set; } = "";
    public List<string> Dns { get; set; } = [];
    public List<string> DnsOptions { get; set; } = [];
    public List<string> DnsSearch { get; set; } = [];
    public List<string>? ExtraHosts { get; set; }
    public List<string>? GroupAdd { get; set; }
    public string IpcMode { get; set; } = "";
    public string Cgroup { get; set; } = "";
    public int OomScoreAdj { get; set; }
    public string PidMode { get; set; } = "";
    public bool Privileged { get; set; }
    public bool PublishAllPorts { get; set; }
    public bool ReadonlyRootfs { get; set; }
    public List<string>? SecurityOpt { get; set; }
    public Dictionary<string, string>? Tmpfs { get; set; }
    public string UTSMode { get; set; } = "";
    public string UsernsMode { get; set; } = "";
    public long ShmSize { get; set; }
    public Dictionary<string, string>? Sysctls { get; set; }
    public string Runtime { get; set; } = "";
    public string Isolation { get; set; } = "";
    public long CpuShares { get; set; }
    public long Memory { get; set; }
    public long NanoCpus { get; set; }
    public string CgroupParent { get; set; } = "";
    public int BlkioWeight { get; set; }
    public long CpuPeriod { get; set; }
    public long CpuQuota { get; set; }
    public string CpusetCpus { get; set; } = "";
    public string CpusetMems { get; set; } = "";
    public long MemoryReservation { get; set; }
    public long MemorySwap { get; set; }
    public long? MemorySwappiness { get; set; } = -1;
    public bool OomKillDisable { get; set; }
    public long? PidsLimit { get; set; }
    public List<UlimitBody> Ulimits { get; set; } = [];
    public List<DeviceMappingBody> Devices { get; set; } = [];
    public List<string> DeviceCgroupRules { get; set; } = [];
    public bool? Init { get; set; }
}

public sealed class LogConfigBody
{
    public string Type { get; set; } = "";
    public Dictionary<string, string> Config { get; set; } = new();
}

public sealed class RestartPolicyBody
{
    public string Name { get; set; } = "no";
    public int MaximumRetryCount { get; set; }
}

public sealed class PortBindingBody
{
    public string HostIp { get; set; } = "";
    public string HostPort { get; set; } = "";
}

public sealed class DeviceMappingBody
{
    public string PathOnHost { get; set; } = "";
    public string PathInContainer { get; set; } = "";
    public string CgroupPermissions { get; set; } = "rwm";
}

public sealed class UlimitBody
{
    public string Name { get; set; } = "";
    public long Soft { get; set; }
    public long Hard { get; set; }
}

public sealed class NetworkingConfigBody
{
    public Dictionary<string, EndpointBody> EndpointsConfig { get; set; } = new();
}

public sealed class EndpointBody
{
    public List<string>? Aliases { get; set; }
}

/// <summary>POST /containers/{id}/exec.</summary>
public sealed class ExecCreateBody
{
    public string User { get; set; } = "";
    public bool Privileged { get; set; }
    public bool Tty { get; set; }
    public bool AttachStdin { get; set; }
    public bool AttachStderr { get; set; }
    public bool AttachStdout { get; set; }
    public bool Detach { get; set; }
    public string DetachKeys { get; set; } = "";
    public List<string>? Env { get; set; }
    public string WorkingDir { get; set; } = "";
    public List<string> Cmd { get; set; } = [];
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<int>? ConsoleSize { get; set; }
}

/// <summary>POST /exec/{id}/start.</summary>
public sealed class ExecStartBody
{
    public bool Detach { get; set; }
    public bool Tty { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<int>? ConsoleSize { get; set; }
}

/// <summary>The X-Registry-Auth header's JSON (base64url-encoded on the wire).</summary>
public sealed class AuthConfigBody
{
    [JsonPropertyName("username"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Username { get; set; }
    [JsonPropertyName("password"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Password { get; set; }
    [JsonPropertyName("serveraddress"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ServerAddress { get; set; }
}

// Serialization only: the generated writers run without the metadata that JsonSerializer would
// otherwise build on the first call of each process (a cold cost on every command). The CLI reads
// answers with JsonDocument.
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never, GenerationMode = JsonSourceGenerationMode.Serialization)]
[JsonSerializable(typeof(CreateBody))]
[JsonSerializable(typeof(ExecCreateBody))]
[JsonSerializable(typeof(ExecStartBody))]
[JsonSerializable(typeof(AuthConfigBody))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, bool>>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(string))]
public partial class CliJsonContext : JsonSerializerContext
{
}
