using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Engine.Api;
using Berth.Engine.Networks;
using Berth.Linux.Interop;
using Berth.Linux.Net;

namespace Berth.Engine.Containers;

/// <summary>
/// Containers on user-defined bridge networks. An endpoint (address, aliases) is given at create or
/// `network connect` and kept until disconnect or removal. At start berthd makes the container's
/// network namespace itself (pinned at BUNDLE/netns), puts one veth pair per endpoint between it and
/// the network's bridge (eth0, eth1, … inside; the first one's gateway is the default route), and
/// the runtime joins that namespace by path. Names resolve through /etc/hosts: each running
/// container's file lists the running containers it shares a network with, by name and alias.
/// </summary>
public sealed partial class ContainerService
{
    public NetworkStore Networks { get; }
    private readonly object _ipamLock = new();
    // Addresses given to records that are not in _containers yet (creates run side by side, as compose's do).
    private readonly HashSet<(string Network, string Ip, ContainerRecord Owner)> _pendingIps = [];

    private string NetnsPath(string id) => Path.Combine(BundleDir(id), "netns");

    /// <summary>The user network a create's NetworkMode names (null for bridge, host and none), or a 404.</summary>
    private NetworkRecord? UserNetworkOf(HostConfig hc)
    {
        if (NetworkStore.Predefined.Contains(hc.NetworkMode)) return null;
        if (hc.NetworkMode.StartsWith("container:", StringComparison.Ordinal))
            throw EngineException.BadRequest($"network mode {hc.NetworkMode} is not supported by berthd");
        // A 400, not docker's 404: the docker CLI answers any 404 of a create by pulling the image first.
        return Networks.Find(hc.NetworkMode) ?? throw EngineException.BadRequest($"network {hc.NetworkMode} not found");
    }

    /// <summary>The aliases and address create's NetworkingConfig.EndpointsConfig asks for on <paramref name="n"/>.</summary>
    private static (List<string>? Aliases, string? Ip) EndpointRequest(JsonElement? networkingConfig, NetworkRecord n)
    {
        if (networkingConfig is not { ValueKind: JsonValueKind.Object } nc || !nc.TryGetProperty("EndpointsConfig", out var ec) || ec.ValueKind != JsonValueKind.Object)
            return (null, null);
        foreach (var p in ec.EnumerateObject())
        {
            if (p.Name != n.Name && p.Name != n.Id) continue;
            return ParseEndpointConfig(p.Value);
        }
        return (null, null);
    }

    public static (List<string>? Aliases, string? Ip) ParseEndpointConfig(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return (null, null);
        List<string>? aliases = null;
        if (e.TryGetProperty("Aliases", out var a) && a.ValueKind == JsonValueKind.Array)
            aliases = a.EnumerateArray().Select(x => x.GetString() ?? "").Where(x => x != "").ToList();
        string? ip = null;
        if (e.TryGetProperty("IPAMConfig", out var ipam) && ipam.ValueKind == JsonValueKind.Object
            && ipam.TryGetProperty("IPv4Address", out var v4) && v4.GetString() is { Length: > 0 } s) ip = s;
        return (aliases, ip);
    }

    /// <summary>Gives <paramref name="r"/> an address on <paramref name="n"/> (the one asked for, or the lowest free one).</summary>
    private EndpointRecord Allocate(ContainerRecord r, NetworkRecord n, List<string>? aliases, string? requestedIp)
    {
        var subnet = Ipv4Subnet.Parse(n.Subnet);
        uint gateway = Ipv4Subnet.ToUInt(System.Net.IPAddress.Parse(n.Gateway));
        lock (_ipamLock)
        {
            var used = _containers.Values.Where(x => x.R != r).SelectMany(x => x.R.Endpoints?.Values ?? Enumerable.Empty<EndpointRecord>())
                .Where(e => e.NetworkId == n.Id).Select(e => e.IPAddress)
                .Concat(_pendingIps.Where(p => p.Network == n.Id && p.Owner != r).Select(p => p.Ip))
                .Select(a => Ipv4Subnet.ToUInt(System.Net.IPAddress.Parse(a))).ToHashSet();
            uint ip;
            if (requestedIp is not null)
            {
                if (!System.Net.IPAddress.TryParse(requestedIp, out var want) || want.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                    throw EngineException.BadRequest($"invalid IPv4 address: {requestedIp}");
                ip = Ipv4Subnet.ToUInt(want);
                if (!subnet.Contains(ip) || ip == subnet.Network || ip == subnet.Broadcast || ip == gateway)
                    throw EngineException.BadRequest($"requested address {requestedIp} is not a free host address of network {n.Name} ({n.Subnet}, gateway {n.Gateway})");
                if (used.Contains(ip)) throw EngineException.Forbidden($"Address already in use: {requestedIp} on network {n.Name}");
            }
            else ip = subnet.FirstFreeHost(gateway, used) ?? throw EngineException.Forbidden($"no available IPv4 addresses on network {n.Name} ({n.Subnet})");
            var e = new EndpointRecord
            {
                NetworkId = n.Id,
                EndpointId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
                Aliases = aliases is { Count: > 0 } ? aliases.Distinct().ToList() : null,
                IPAddress = Ipv4Subnet.Format(ip),
                IPPrefixLen = subnet.Prefix,
                Gateway = n.Gateway,
                MacAddress = Ipv4Subnet.FormatMac(Ipv4Subnet.MacOf(ip)),
            };
            (r.Endpoints ??= new())[n.Id] = e;
            if (!_containers.Values.Any(x => x.R == r)) _pendingIps.Add((n.Id, e.IPAddress, r));
            return e;
        }
    }

    /// <summary>Create is over (the record is in _containers, or the create failed): its addresses are no longer pending.</summary>
    private void ReleasePending(ContainerRecord r)
    {
        lock (_ipamLock) _pendingIps.RemoveWhere(p => p.Owner == r);
    }

    /// <summary>Containers (other than the predefined modes) on network <paramref name="networkId"/>.</summary>
    public IEnumerable<Container> OnNetwork(string networkId) =>
        _containers.Values.Where(c => c.R.Endpoints?.ContainsKey(networkId) == true);

    /// <summary>POST /networks/{id}/connect.</summary>
    public async Task ConnectAsync(Container c, NetworkRecord n, List<string>? aliases, string? ip)
    {
        await c.Lock.WaitAsync();
        try
        {
            var hc = c.R.HostConfig;
            if (hc.NetworkMode == "host") throw EngineException.BadRequest("container cannot be disconnected from host network or connected to host network");
            if (hc.NetworkMode == "none") throw EngineException.BadRequest($"container {c.R.Name.TrimStart('/')} is on network none (no networking) and cannot be connected to {n.Name}");
            if (c.R.Endpoints?.ContainsKey(n.Id) == true)
                throw EngineException.Forbidden($"endpoint with name {c.R.Name.TrimStart('/')} already exists in network {n.Name}");
            var e = Allocate(c.R, n, aliases, ip);
            if (c.Running)
            {
                try { Plug(c, n, e, NetnsOfRunning(c)); }
                catch
                {
                    c.R.Endpoints!.Remove(n.Id);
                    throw;
                }
            }
            Persist(c);
        }
        finally { c.Lock.Release(); }
        RefreshHosts([n.Id]);
    }

    /// <summary>POST /networks/{id}/disconnect.</summary>
    public async Task DisconnectAsync(Container c, NetworkRecord n)
    {
        await c.Lock.WaitAsync();
        try
        {
            if (c.R.Endpoints?.ContainsKey(n.Id) != true)
                throw EngineException.Forbidden($"container {c.Id} is not connected to network {n.Name}");
            if (c.Running) Unplug(c.Id, n.Id);
            c.R.Endpoints.Remove(n.Id);
            Persist(c);
        }
        finally { c.Lock.Release(); }
        RefreshHosts([n.Id]);
    }

    /// <summary>At start: the container's own network namespace, wired to each of its networks; null without user networks.</summary>
    private string? WireNetworks(Container c)
    {
        if (c.R.Endpoints is not { Count: > 0 } eps) return null;
        string ns = NetnsPath(c.Id);
        NetNamespace.Delete(ns); // one left by a daemon that was killed
        NetNamespace.Create(ns);
        try
        {
            foreach (var e in eps.Values)
            {
                var n = Networks.Find(e.NetworkId) ?? throw EngineException.NotFound($"network {e.NetworkId} not found (the container's endpoint outlived it)");
                Plug(c, n, e, ns);
            }
        }
        catch
        {
            UnwireNetworks(c);
            throw;
        }
        // Its own /etc/hosts, with the peers running now, is there before its process starts.
        lock (_hostsLock) RewriteInPlace(c.R.HostsPath, HostsWithPeers(c.R));
        StartDns(c, ns);
        return ns;
    }

    /// <summary>After the exit: the host ends of the pairs go now (a namespace's end is asynchronous) and so does the namespace.</summary>
    private void UnwireNetworks(Container c)
    {
        c.Dns?.Dispose();
        c.Dns = null;
        foreach (var id in c.R.Endpoints?.Keys ?? Enumerable.Empty<string>()) Unplug(c.Id, id);
        NetNamespace.Delete(NetnsPath(c.Id));
    }

    /// <summary>The embedded DNS server in the container's namespace (its resolv.conf names 127.0.0.11).</summary>
    private void StartDns(Container c, string netns)
    {
        c.Dns?.Dispose();
        try { c.Dns = EmbeddedDns.Start(netns, name => PeerAddresses(c, name)); }
        catch (Exception e) when (e is Berth.Linux.LinuxException or System.Net.Sockets.SocketException)
        {
            c.Dns = null;
            Console.Error.WriteLine($"berthd: {c.ShortId}: no embedded DNS server: {e.Message}"); // /etc/hosts still names the peers
        }
    }

    /// <summary>After a daemon restart: the DNS server of a running container on user networks, again.</summary>
    private void RestoreDns(Container c)
    {
        if (c.R.Endpoints is { Count: > 0 } && File.Exists(NetnsPath(c.Id))) StartDns(c, NetnsPath(c.Id));
    }

    /// <summary>The addresses a name has for <paramref name="asking"/>: running peers on a network it is on, by name, alias or short id.</summary>
    private IReadOnlyList<System.Net.IPAddress> PeerAddresses(Container asking, string name)
    {
        var mine = asking.R.Endpoints?.Keys.ToHashSet() ?? [];
        var result = new List<System.Net.IPAddress>();
        foreach (var peer in _containers.Values.Where(x => x.Running))
            foreach (var e in peer.R.Endpoints?.Values ?? Enumerable.Empty<EndpointRecord>())
            {
                if (!mine.Contains(e.NetworkId)) continue;
                bool named = peer.R.Name.TrimStart('/').Equals(name, StringComparison.OrdinalIgnoreCase)
                    || peer.Id.StartsWith(name, StringComparison.Ordinal) && name.Length >= 12
                    || e.Aliases?.Any(a => a.Equals(name, StringComparison.OrdinalIgnoreCase)) == true;
                if (named && System.Net.IPAddress.TryParse(e.IPAddress, out var ip) && !result.Contains(ip)) result.Add(ip);
            }
        return result;
    }

    private string NetnsOfRunning(Container c) =>
        File.Exists(NetnsPath(c.Id)) ? NetnsPath(c.Id) : $"/proc/{c.R.State.Pid}/ns/net";

    /// <summary>The host end of a container's pair on a network: veth and 7 hex digits of the two ids (15 characters at most).</summary>
    internal static string HostVeth(string containerId, string networkId) =>
        "veth" + Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(containerId + "/" + networkId)))[..7];

    private void Plug(Container c, NetworkRecord n, EndpointRecord e, string netns)
    {
        NetworkStore.EnsureBridge(n);
        string veth = HostVeth(c.Id, n.Id);
        using var host = Netlink.Open();
        host.DeleteLink(veth); // left by a daemon that was killed
        using var inside = Netlink.OpenIn(netns);
        string ifName = Enumerable.Range(0, 64).Select(i => "eth" + i).First(x => inside.IndexOf(x) == 0);
        uint ip = Ipv4Subnet.ToUInt(System.Net.IPAddress.Parse(e.IPAddress));
        int nsFd = Errno.Check(LibC.open(netns, O.RDONLY | O.CLOEXEC, 0), $"open {netns}");
        try { host.AddVethPair(veth, ifName, nsFd, Ipv4Subnet.MacOf(ip)); }
        finally { LibC.close(nsFd); }
        try
        {
            host.SetMasterAndUp(host.IndexOf(veth), host.IndexOf(n.BridgeName));
            int index = inside.IndexOf(ifName);
            inside.AddAddress(index, System.Net.IPAddress.Parse(e.IPAddress), e.IPPrefixLen);
            inside.SetUp(index);
            if (ifName == "eth0" && !n.Internal) inside.AddDefaultRoute(System.Net.IPAddress.Parse(n.Gateway), index);
        }
        catch
        {
            host.DeleteLink(veth);
            throw;
        }
    }

    private static void Unplug(string containerId, string networkId)
    {
        using var host = Netlink.Open();
        host.DeleteLink(HostVeth(containerId, networkId));
    }

    /// <summary>
    /// Rewrites /etc/hosts of every running container on the given networks: its own lines and then
    /// one line per running peer it shares a network with (address, name, aliases). The file is
    /// rewritten in place: the container sees it through a bind mount of that very inode.
    /// </summary>
    private void RefreshHosts(IEnumerable<string> networkIds)
    {
        var ids = networkIds.ToHashSet();
        lock (_hostsLock)
            foreach (var c in _containers.Values.Where(x => x.Running && x.R.Endpoints?.Keys.Any(ids.Contains) == true).ToList())
            {
                try { RewriteInPlace(c.R.HostsPath, HostsWithPeers(c.R)); }
                catch (IOException) { } // removed meanwhile
            }
    }

    private readonly object _hostsLock = new();

    /// <summary>
    /// The new text over the old in the same inode, then cut to its length: a process reading the file
    /// meanwhile never finds it empty (a truncate first, as File.WriteAllText does, would show it an
    /// empty /etc/hosts: "bad address"). Unchanged text is not written at all.
    /// </summary>
    private static void RewriteInPlace(string path, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        using var f = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        if (f.Length == bytes.Length)
        {
            var old = new byte[bytes.Length];
            f.ReadExactly(old);
            if (old.AsSpan().SequenceEqual(bytes)) return;
            f.Position = 0;
        }
        f.Write(bytes);
        f.SetLength(bytes.Length);
    }

    private string HostsWithPeers(ContainerRecord r)
    {
        var sb = new StringBuilder(SpecBuilder.HostsFile(r, SpecBuilder.HostnameOf(r), _o.HostGatewayIp));
        var mine = r.Endpoints?.Keys.ToHashSet() ?? [];
        var seen = new HashSet<string>();
        foreach (var peer in _containers.Values.Where(x => x.R != r && x.Running).OrderBy(x => x.R.Name, StringComparer.Ordinal))
            foreach (var e in peer.R.Endpoints?.Values ?? Enumerable.Empty<EndpointRecord>())
            {
                if (!mine.Contains(e.NetworkId) || !seen.Add(peer.Id + e.IPAddress)) continue;
                var names = new List<string> { peer.R.Name.TrimStart('/') };
                names.AddRange(e.Aliases ?? []);
                names.Add(peer.Id[..12]);
                sb.Append(e.IPAddress).Append('\t').Append(string.Join(' ', names.Distinct())).Append('\n');
            }
        return sb.ToString();
    }
}
