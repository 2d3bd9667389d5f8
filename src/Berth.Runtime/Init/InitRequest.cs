using System.Text.Json.Serialization;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Init;

/// <summary>What the parent tells the init (C# half, inside the namespaces) to do.</summary>
public sealed class InitRequest
{
    /// <summary>"create": set up the rootfs and wait for start. "exec": run one more process.</summary>
    [JsonPropertyName("mode")] public string Mode { get; set; } = "create";
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    /// <summary>For exec; create sends the bundle's config.json bytes in the next frame instead (<see cref="SpecFollows"/>).</summary>
    [JsonPropertyName("spec")] public Spec Spec { get; set; } = new();
    /// <summary>The spec comes as the raw config.json in the next frame; process is its process.</summary>
    [JsonPropertyName("specFollows")] public bool SpecFollows { get; set; }
    /// <summary>The process to run; for create, spec.process.</summary>
    [JsonPropertyName("process")] public Process Process { get; set; } = new();
    [JsonPropertyName("fifoPath")] public string? FifoPath { get; set; }
    [JsonPropertyName("consoleSocket")] public string? ConsoleSocket { get; set; }
    [JsonPropertyName("noPivot")] public bool NoPivot { get; set; }
    [JsonPropertyName("preserveFds")] public int PreserveFds { get; set; }
    /// <summary>The classic BPF program (struct sock_filter[]) compiled by the parent.</summary>
    [JsonPropertyName("seccompBpf")] public byte[]? SeccompBpf { get; set; }
    [JsonPropertyName("seccompFlags")] public uint SeccompFlags { get; set; }
    [JsonPropertyName("cgroupMounts")] public List<CgroupMountSource>? CgroupMounts { get; set; }
    /// <summary>In a user namespace, new or joined: device nodes are bind mounts of the host's (mknod is refused there).</summary>
    [JsonPropertyName("inUserNamespace")] public bool InUserNamespace { get; set; }
    [JsonPropertyName("newUtsNamespace")] public bool NewUtsNamespace { get; set; }
    /// <summary>
    /// The v1 <c>tasks</c> files (named for messages) whose descriptors follow the request, after
    /// exec.fifo's: the init joins the container's v1 cgroups itself, first thing (see ContainerInit).
    /// </summary>
    [JsonPropertyName("cgroupTasks")] public List<string>? CgroupTasks { get; set; }
    /// <summary>Unshare the cgroup namespace once in the container's cgroups (after CgroupTasks).</summary>
    [JsonPropertyName("unshareCgroupNamespace")] public bool UnshareCgroupNamespace { get; set; }
    /// <summary>No mount namespace was asked for: the rootfs is built in the runtime's own (see RootfsBuilder).</summary>
    [JsonPropertyName("hostMountNamespace")] public bool HostMountNamespace { get; set; }
    [JsonPropertyName("state")] public ContainerState? State { get; set; }
}

/// <summary>Where a hierarchy of the container's cgroup is on the host, for the "cgroup" mount.</summary>
public sealed class CgroupMountSource
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("hostPath")] public string HostPath { get; set; } = "";
    [JsonPropertyName("v2")] public bool V2 { get; set; }
}

/// <summary>A message on the sync socket, either way.</summary>
public sealed class InitMessage
{
    /// <summary>hooks (init: run createRuntime now), resume (parent), created (init is waiting), error.</summary>
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("error")] public string? Error { get; set; }
    [JsonPropertyName("pid")] public int Pid { get; set; }
}
