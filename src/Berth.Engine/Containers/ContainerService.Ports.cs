using System.Globalization;
using System.Text.Json;
using Berth.Engine.Api;
using Berth.Engine.Networks;

namespace Berth.Engine.Containers;

/// <summary>
/// Published ports (-p, -P, compose's ports): HostConfig.PortBindings and PublishAllPorts, carried
/// out by a <see cref="PortProxy"/> per TCP port while the container runs. UDP and SCTP are not
/// published (a create warning says so).
/// </summary>
public sealed partial class ContainerService
{
    /// <summary>One binding asked for: container port, and host address and port (0: any free one).</summary>
    private readonly record struct PortRequest(int ContainerPort, string HostIp, int HostPort);

    /// <summary>The TCP bindings of the record's HostConfig, checked; other protocols add a warning.</summary>
    private static List<PortRequest> PortRequests(ContainerRecord r, List<string>? warnings)
    {
        var result = new List<PortRequest>();
        var extra = r.HostConfig.Extra;
        bool publishAll = extra is not null && extra.TryGetValue("PublishAllPorts", out var pa) && pa.ValueKind == JsonValueKind.True;
        var bound = new HashSet<string>();
        if (extra is not null && extra.TryGetValue("PortBindings", out var pb) && pb.ValueKind == JsonValueKind.Object)
            foreach (var p in pb.EnumerateObject())
            {
                var (port, proto) = ParsePortKey(p.Name);
                bound.Add(p.Name);
                if (proto != "tcp") { warnings?.Add($"published port {p.Name}: only TCP ports are published by berthd, ignored."); continue; }
                var list = p.Value.ValueKind == JsonValueKind.Array ? p.Value.EnumerateArray().ToList() : [];
                if (list.Count == 0) list.Add(default);
                foreach (var b in list)
                {
                    string hostIp = b.ValueKind == JsonValueKind.Object && b.TryGetProperty("HostIp", out var hi) ? hi.GetString() ?? "" : "";
                    string hostPort = b.ValueKind == JsonValueKind.Object && b.TryGetProperty("HostPort", out var hp) ? hp.GetString() ?? "" : "";
                    int host = 0;
                    if (hostPort != "" && (!int.TryParse(hostPort, NumberStyles.None, CultureInfo.InvariantCulture, out host) || host is < 1 or > 65535))
                        throw EngineException.BadRequest($"invalid host port \"{hostPort}\" for {p.Name} (a number from 1 to 65535; ranges are not supported by berthd)");
                    if (hostIp.Contains(':')) { warnings?.Add($"published port {p.Name} on {hostIp}: IPv6 host addresses are not supported by berthd, ignored."); continue; }
                    result.Add(new PortRequest(port, hostIp, host));
                }
            }
        if (publishAll)
            foreach (var key in r.Config.ExposedPorts?.Keys ?? Enumerable.Empty<string>())
            {
                if (bound.Contains(key)) continue;
                var (port, proto) = ParsePortKey(key);
                if (proto == "tcp") result.Add(new PortRequest(port, "", 0));
            }
        if (result.Count > 0 && r.HostConfig.NetworkMode is "host" or "none")
        {
            warnings?.Add(r.HostConfig.NetworkMode == "host"
                ? "Published ports are discarded when using host network mode"
                : "Published ports are discarded when using the none network mode (the container has no network)");
            return [];
        }
        return result;
    }

    /// <summary>"80/tcp" (or "80": tcp) → (80, "tcp").</summary>
    private static (int Port, string Proto) ParsePortKey(string key)
    {
        var parts = key.Split('/', 2);
        string proto = parts.Length == 2 ? parts[1].ToLowerInvariant() : "tcp";
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535 || proto is not ("tcp" or "udp" or "sctp"))
            throw EngineException.BadRequest($"invalid port specification: \"{key}\"");
        return (port, proto);
    }

    /// <summary>At start, before the process runs: every published port bound (a taken one fails the start, nothing kept).</summary>
    private static List<PortProxy> BindPorts(ContainerRecord r, IReadOnlyList<PortMapping>? sameAsBefore = null)
    {
        var proxies = new List<PortProxy>();
        try
        {
            if (sameAsBefore is not null)
                foreach (var m in sameAsBefore) proxies.Add(PortProxy.Bind(m.HostIp, m.HostPort, m.ContainerPort));
            else
                foreach (var q in PortRequests(r, null)) proxies.Add(PortProxy.Bind(q.HostIp, q.HostPort, q.ContainerPort));
        }
        catch
        {
            foreach (var p in proxies) p.Dispose();
            throw;
        }
        return proxies;
    }

    /// <summary>Once the process runs: the proxies take connections into its namespace.</summary>
    private void ServePorts(Container c, List<PortProxy> proxies)
    {
        if (proxies.Count == 0) { c.R.PublishedPorts = null; return; }
        foreach (var p in proxies) p.Serve(() => NetnsOfRunning(c));
        c.Proxies = proxies;
        c.R.PublishedPorts = proxies.Select(p => p.Mapping).ToList();
    }

    private static void ClosePorts(Container c)
    {
        foreach (var p in c.Proxies ?? []) p.Dispose();
        c.Proxies = null;
        c.R.PublishedPorts = null;
    }

    /// <summary>After a daemon restart: a running container's ports bound again where they were.</summary>
    private void RestorePorts(Container c)
    {
        if (c.R.PublishedPorts is not { Count: > 0 } was) return;
        try { ServePorts(c, BindPorts(c.R, was)); }
        catch (EngineException e) { Console.Error.WriteLine($"berthd: {c.ShortId}: published ports not restored: {e.Message}"); c.R.PublishedPorts = null; }
    }

    /// <summary>inspect's NetworkSettings.Ports: each exposed or published port, with its host bindings while it runs.</summary>
    private static Dictionary<string, JsonElement?> PortsOf(ContainerRecord r, bool running)
    {
        var result = new Dictionary<string, JsonElement?>();
        foreach (var key in r.Config.ExposedPorts?.Keys ?? Enumerable.Empty<string>()) result[key] = null;
        if (!running) return result;
        foreach (var g in (r.PublishedPorts ?? []).GroupBy(m => $"{m.ContainerPort}/{m.Proto}"))
            result[g.Key] = JsonSerializer.SerializeToElement(g.Select(m => new Dictionary<string, string> { ["HostIp"] = m.HostIp, ["HostPort"] = m.HostPort.ToString(CultureInfo.InvariantCulture) }).ToList(),
                EngineJsonContext.Default.ListDictionaryStringString);
        return result;
    }

    /// <summary>The list's Ports: published ones with their host side, exposed-only ones without.</summary>
    private static List<JsonElement> SummaryPortsOf(ContainerRecord r, bool running)
    {
        var list = new List<JsonElement>();
        var published = running ? r.PublishedPorts ?? [] : [];
        foreach (var m in published)
            list.Add(JsonSerializer.SerializeToElement(new SummaryPort { IP = m.HostIp, PrivatePort = m.ContainerPort, PublicPort = m.HostPort, Type = m.Proto }, EngineJsonContext.Default.SummaryPort));
        foreach (var key in r.Config.ExposedPorts?.Keys ?? Enumerable.Empty<string>())
        {
            var (port, proto) = ParsePortKey(key);
            if (published.Any(m => m.ContainerPort == port && m.Proto == proto)) continue;
            list.Add(JsonSerializer.SerializeToElement(new SummaryPort { PrivatePort = port, Type = proto }, EngineJsonContext.Default.SummaryPort));
        }
        return list;
    }
}
