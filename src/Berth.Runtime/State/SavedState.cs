using System.Text.Json.Serialization;
using Berth.Oci.Runtime;

namespace Berth.Runtime.State;

/// <summary>What berth-runtime keeps under --root/ID/state.json between its short-lived invocations.</summary>
public sealed class SavedState
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("pid")] public int Pid { get; set; }
    /// <summary>Start time of the init (clock ticks since boot): a reused pid has another one.</summary>
    [JsonPropertyName("pidStartTime")] public ulong PidStartTime { get; set; }
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    [JsonPropertyName("created")] public DateTime Created { get; set; }
    [JsonPropertyName("owner")] public string Owner { get; set; } = "";
    /// <summary>Hierarchy -> host directory of the container's cgroup (what CgroupManager.Reopen takes).</summary>
    [JsonPropertyName("cgroupPaths")] public Dictionary<string, string> CgroupPaths { get; set; } = new();
    /// <summary>Parent cgroups (host paths, top-down) that create made on the way: delete removes these when empty, nothing above.</summary>
    [JsonPropertyName("cgroupParentsCreated")] public List<string>? CgroupParentsCreated { get; set; }
    /// <summary>
    /// The few facts of the config that every command needs. The config itself is kept beside
    /// state.json as config.json (the bundle's bytes as validated at create) and only parsed by
    /// the commands that need all of it (exec, update, and hooks when there are any): parsing a
    /// whole spec would be most of what `state` or `start` costs.
    /// </summary>
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
    [JsonPropertyName("hasProcess")] public bool HasProcess { get; set; }
    [JsonPropertyName("hostMountNamespace")] public bool HostMountNamespace { get; set; }
    [JsonPropertyName("hooks")] public List<string>? HookPhases { get; set; }

    public bool HasHooks(string phase) => HookPhases?.Contains(phase) == true;
}

/// <summary>The runc-compatible `state` output (the OCI state plus runc's extra fields).</summary>
public sealed class StateReport
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = SpecVersion.Current;
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("status")] public string Status { get; set; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    [JsonPropertyName("created")] public DateTime Created { get; set; }
    [JsonPropertyName("owner")] public string Owner { get; set; } = "";
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
}
