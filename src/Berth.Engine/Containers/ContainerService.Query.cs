using System.Diagnostics;
using System.Text.Json;
using Berth.Engine.Api;

namespace Berth.Engine.Containers;

public sealed partial class ContainerService
{
    public ContainerInspect Inspect(Container c)
    {
        var r = c.R;
        var inspect = new ContainerInspect
        {
            Id = r.Id, Created = r.Created, Path = r.Path, Args = r.Args, State = StateOf(c), Image = r.ImageId,
            ResolvConfPath = r.ResolvConfPath, HostnamePath = r.HostnamePath, HostsPath = r.HostsPath, LogPath = r.LogPath,
            Name = r.Name, RestartCount = r.RestartCount, HostConfig = r.HostConfig, Config = r.Config,
            Driver = Images.Snapshots.Name == "overlay" ? "overlay2" : "vfs",
            ExecIDs = c.Execs.Count > 0 ? c.Execs.Keys.ToList() : null,
        };
        inspect.GraphDriver.Name = inspect.Driver;
        inspect.NetworkSettings.SandboxKey = r.State.Pid > 0 ? $"/proc/{r.State.Pid}/ns/net" : "";
        inspect.NetworkSettings.Networks = NetworksOf(r);
        inspect.NetworkSettings.Ports = PortsOf(r, c.Running);
        if (r.Endpoints?.Count > 0 && r.Endpoints.Values.FirstOrDefault(e => Networks.Find(e.NetworkId)?.Name == r.HostConfig.NetworkMode) is { } own)
        {
            // docker fills the top-level fields from the network the container was created on.
            inspect.NetworkSettings.IPAddress = own.IPAddress;
            inspect.NetworkSettings.IPPrefixLen = own.IPPrefixLen;
            inspect.NetworkSettings.Gateway = own.Gateway;
            inspect.NetworkSettings.MacAddress = own.MacAddress;
        }
        void AddMount(string type, string? name, string source, string destination, string mode, bool rw, string propagation)
        {
            var m = new Dictionary<string, JsonElement>
            {
                ["Type"] = JsonSerializer.SerializeToElement(type, EngineJsonContext.Default.String),
            };
            if (name is not null)
            {
                m["Name"] = JsonSerializer.SerializeToElement(name, EngineJsonContext.Default.String);
                m["Driver"] = JsonSerializer.SerializeToElement("local", EngineJsonContext.Default.String);
            }
            m["Source"] = JsonSerializer.SerializeToElement(source, EngineJsonContext.Default.String);
            m["Destination"] = JsonSerializer.SerializeToElement(destination, EngineJsonContext.Default.String);
            m["Mode"] = JsonSerializer.SerializeToElement(mode, EngineJsonContext.Default.String);
            m["RW"] = JsonSerializer.SerializeToElement(rw, EngineJsonContext.Default.Boolean);
            m["Propagation"] = JsonSerializer.SerializeToElement(propagation, EngineJsonContext.Default.String);
            string json = JsonSerializer.Serialize(m, EngineJsonContext.Default.DictionaryStringJsonElement);
            inspect.Mounts.Add(JsonDocument.Parse(json).RootElement);
        }
        string VolumeData(string name) => Path.Combine(_o.DataRoot, "volumes", name, "_data");
        foreach (var b in (r.HostConfig.Binds ?? []).Concat(r.VolumesFromBinds ?? []))
        {
            var parts = b.Split(':');
            bool named = !parts[0].StartsWith('/');
            string mode = parts.Length > 2 ? parts[2] : "";
            AddMount(named ? "volume" : "bind", named ? parts[0] : null, named ? VolumeData(parts[0]) : parts[0], parts[1], mode,
                !(parts.Length > 2 && parts[2].Contains("ro")), named ? "" : "rprivate");
        }
        foreach (var m in r.HostConfig.Mounts ?? [])
        {
            switch (m.Type)
            {
                case "volume":
                    string name = m.Source != "" ? m.Source : SpecBuilder.ContainerVolumeName(c.Id, m.Target);
                    AddMount("volume", name, VolumeData(name), m.Target, "z", !m.ReadOnly, "");
                    break;
                case "bind":
                    AddMount("bind", null, m.Source, m.Target, "", !m.ReadOnly, m.BindOptions?.Propagation is { Length: > 0 } p ? p : "rprivate");
                    break;
                case "tmpfs":
                    AddMount("tmpfs", null, "", m.Target, "", !m.ReadOnly, "");
                    break;
            }
        }
        foreach (var target in SpecBuilder.AnonymousVolumeTargets(r))
        {
            string name = SpecBuilder.ContainerVolumeName(c.Id, target);
            AddMount("volume", name, VolumeData(name), target, "", true, "");
        }
        return inspect;
    }

    /// <summary>NetworkSettings.Networks: the predefined mode the container was made with, or its user networks by name.</summary>
    private Dictionary<string, EndpointSettings> NetworksOf(ContainerRecord r)
    {
        var result = new Dictionary<string, EndpointSettings>();
        if (r.HostConfig.NetworkMode is "bridge" or "host" or "none")
            result[r.HostConfig.NetworkMode] = new EndpointSettings { NetworkID = NetworkId(r.HostConfig.NetworkMode) };
        foreach (var e in r.Endpoints?.Values ?? Enumerable.Empty<Berth.Engine.Networks.EndpointRecord>())
        {
            if (Networks.Find(e.NetworkId) is not { } n) continue;
            result[n.Name] = new EndpointSettings
            {
                NetworkID = n.Id, EndpointID = e.EndpointId, Gateway = e.Gateway, IPAddress = e.IPAddress,
                IPPrefixLen = e.IPPrefixLen, MacAddress = e.MacAddress, Aliases = e.Aliases,
            };
        }
        return result;
    }

    public static string NetworkId(string name) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("berth-network-" + name)));

    private static ContainerStateDto StateOf(Container c)
    {
        var s = c.R.State;
        if (!s.Running && s.Status == "running") s.Status = "exited";
        if (!s.Running && s.Restarting) s.Status = "restarting";
        if (s.Running) s.Status = s.Paused ? "paused" : "running";
        return s;
    }

    public List<ContainerSummary> List(bool all, string? filtersJson, int limit)
    {
        var f = Filters.Parse(filtersJson);
        var list = _containers.Values.OrderByDescending(c => c.R.Created, StringComparer.Ordinal).AsEnumerable();
        if (!all && !f.Has("status") && !f.Has("exited")) list = list.Where(c => c.Running || c.R.State.Restarting);
        list = list.Where(c => Matches(c, f));
        if (limit > 0) list = list.Take(limit);
        return list.Select(Summary).ToList();
    }

    private static bool Matches(Container c, Filters f)
    {
        var r = c.R;
        string status = StateOf(c).Status;
        if (f.Has("id") && !f.Values("id").Any(v => r.Id.StartsWith(v, StringComparison.Ordinal))) return false;
        if (f.Has("name") && !f.Values("name").Any(v => System.Text.RegularExpressions.Regex.IsMatch(r.Name.TrimStart('/'), v.TrimStart('/')))) return false;
        if (f.Has("status") && !f.Values("status").Contains(status)) return false;
        if (f.Has("health") && !f.Values("health").Contains(HealthFilterValue(c))) return false;
        if (f.Has("exited") && (status != "exited" || !f.Values("exited").Contains(r.State.ExitCode.ToString()))) return false;
        if (f.Has("ancestor") && !f.Values("ancestor").Any(v => v == r.Config.Image || r.ImageId.StartsWith("sha256:" + v, StringComparison.Ordinal) || v == r.ImageId)) return false;
        if (f.Has("label"))
        {
            var labels = r.Config.Labels ?? new();
            foreach (var l in f.Values("label"))
            {
                var kv = l.Split('=', 2);
                if (!labels.TryGetValue(kv[0], out var val) || kv.Length == 2 && val != kv[1]) return false;
            }
        }
        return true;
    }

    private ContainerSummary Summary(Container c)
    {
        var r = c.R;
        var s = new ContainerSummary
        {
            Id = r.Id, Names = [r.Name], Image = r.Config.Image, ImageID = r.ImageId,
            Command = string.Join(' ', new[] { r.Path }.Concat(r.Args)),
            Created = DateTimeOffset.Parse(r.Created).ToUnixTimeSeconds(),
            Labels = r.Config.Labels ?? new(),
            State = StateOf(c).Status,
            Status = StatusText(c),
            HostConfig = new SummaryHostConfig { NetworkMode = r.HostConfig.NetworkMode },
        };
        s.NetworkSettings.Networks = NetworksOf(r);
        s.Ports = SummaryPortsOf(r, c.Running);
        return s;
    }

    private static string StatusText(Container c)
    {
        var s = c.R.State;
        if (s.Running)
        {
            var up = DateTime.UtcNow - DateTime.Parse(s.StartedAt, null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
            return $"Up {HumanDuration(up)}{(s.Paused ? " (Paused)" : HealthSuffix(c))}";
        }
        if (s.Restarting)
            return $"Restarting ({s.ExitCode}) {HumanDuration(DateTime.UtcNow - DateTime.Parse(s.FinishedAt, null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal))} ago";
        if (s.FinishedAt == ContainerStateDto.ZeroTime) return "Created";
        var ago = DateTime.UtcNow - DateTime.Parse(s.FinishedAt, null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
        return $"Exited ({s.ExitCode}) {HumanDuration(ago)} ago";
    }

    /// <summary>docker's units.HumanDuration.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        double secs = d.TotalSeconds;
        if (secs < 1) return "Less than a second";
        if ((int)secs == 1) return "1 second";
        if (secs < 60) return $"{(int)secs} seconds";
        int mins = (int)d.TotalMinutes;
        if (mins == 1) return "About a minute";
        if (mins < 60) return $"{mins} minutes";
        int hours = (int)Math.Round(d.TotalHours);
        if (hours == 1) return "About an hour";
        if (hours < 48) return $"{hours} hours";
        if (hours < 24 * 7 * 2) return $"{hours / 24} days";
        if (hours < 24 * 30 * 2) return $"{hours / 24 / 7} weeks";
        if (hours < 24 * 365 * 2) return $"{hours / 24 / 30} months";
        return $"{hours / 24 / 365} years";
    }

    // ---- top ----

    public async Task<TopResponse> TopAsync(Container c, string? psArgs)
    {
        if (!c.Running) throw EngineException.Conflict($"container {c.Id} is not running");
        string json = await Runtime.RunAsync(c.Id, BundleDir(c.Id), "ps", "--format", "json", c.Id);
        var pids = JsonSerializer.Deserialize(json, EngineJsonContext.Default.ListJsonElement)?.Select(e => e.ValueKind == JsonValueKind.Number ? e.GetInt32() : e.GetProperty("pid").GetInt32()).ToHashSet() ?? [];
        var psi = new ProcessStartInfo("ps") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string.IsNullOrWhiteSpace(psArgs) ? "-ef" : psArgs).Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new EngineException(500, $"Error running ps: {await p.StandardError.ReadToEndAsync()}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var titles = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        int pidCol = titles.IndexOf("PID");
        if (pidCol < 0) throw new EngineException(500, "Couldn't find PID field in ps output");
        var top = new TopResponse { Titles = titles };
        foreach (var l in lines.Skip(1))
        {
            var f = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < titles.Count || !int.TryParse(f[pidCol], out var pid) || !pids.Contains(pid)) continue;
            var row = f.Take(titles.Count - 1).ToList();
            row.Add(string.Join(' ', f.Skip(titles.Count - 1)));
            top.Processes.Add(row);
        }
        return top;
    }
}

/// <summary>docker's filters query parameter: {"k":{"v":true}} (CLI) or {"k":["v"]} (docker-py).</summary>
public sealed class Filters
{
    private readonly Dictionary<string, List<string>> _f = new();
    public bool Has(string k) => _f.ContainsKey(k);
    public IReadOnlyList<string> Values(string k) => _f.TryGetValue(k, out var v) ? v : [];
    /// <summary>Every filter as "key=value" (the image library's form).</summary>
    public List<string> Pairs() => _f.SelectMany(kv => kv.Value.Select(v => kv.Key + "=" + v)).ToList();
    public IEnumerable<string> Keys => _f.Keys;

    public static Filters Parse(string? json)
    {
        var f = new Filters();
        if (string.IsNullOrWhiteSpace(json)) return f;
        JsonDocument d;
        try { d = JsonDocument.Parse(json); }
        catch (JsonException e) { throw EngineException.BadRequest($"invalid filter: {e.Message}"); }
        using (d)
        {
            if (d.RootElement.ValueKind != JsonValueKind.Object) throw EngineException.BadRequest("invalid filter: not an object");
            foreach (var p in d.RootElement.EnumerateObject())
            {
                var list = new List<string>();
                if (p.Value.ValueKind == JsonValueKind.Array) list.AddRange(p.Value.EnumerateArray().Select(v => v.GetString() ?? ""));
                else if (p.Value.ValueKind == JsonValueKind.Object) list.AddRange(p.Value.EnumerateObject().Where(v => v.Value.ValueKind != JsonValueKind.False).Select(v => v.Name));
                else throw EngineException.BadRequest($"invalid filter '{p.Name}'");
                f._f[p.Name] = list;
            }
        }
        return f;
    }
}
