using System.Text.Json.Serialization;

namespace Berth.Engine.Networks;

/// <summary>A user-defined bridge network as stored in DATA_ROOT/networks/ID.json.</summary>
public sealed class NetworkRecord
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Driver { get; set; } = "bridge";
    public string Created { get; set; } = "";
    /// <summary>IPv4 subnet in CIDR form (the network address, e.g. 172.18.0.0/16).</summary>
    public string Subnet { get; set; } = "";
    public string Gateway { get; set; } = "";
    /// <summary>--internal: its containers get no default route through the gateway.</summary>
    public bool Internal { get; set; }
    public bool Attachable { get; set; }
    public Dictionary<string, string> Labels { get; set; } = new();
    public Dictionary<string, string> Options { get; set; } = new();

    /// <summary>The Linux bridge on the host: br- and the id's first 12 characters, as docker names them.</summary>
    [JsonIgnore] public string BridgeName => "br-" + Id[..12];
}

/// <summary>A container's place on one user network: what `network connect` and create's EndpointsConfig gave it.</summary>
public sealed class EndpointRecord
{
    public string NetworkId { get; set; } = "";
    public string EndpointId { get; set; } = "";
    public List<string>? Aliases { get; set; }
    public string IPAddress { get; set; } = "";
    public int IPPrefixLen { get; set; }
    public string Gateway { get; set; } = "";
    public string MacAddress { get; set; } = "";
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(NetworkRecord))]
internal partial class NetworkJsonContext : JsonSerializerContext
{
}
