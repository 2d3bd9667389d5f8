using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Engine.Store;
using Berth.Linux.Interop;
using Berth.Linux.Net;

namespace Berth.Engine.Networks;

/// <summary>What `network create` asks for.</summary>
public sealed record NetworkSpec(string Name, string? Driver, string? Subnet, string? Gateway, bool Internal, bool Attachable,
    bool EnableIPv6, Dictionary<string, string>? Labels, Dictionary<string, string>? Options);

/// <summary>
/// User-defined bridge networks: one record per network in DATA_ROOT/networks/ID.json and one Linux
/// bridge (br-ID12) on the host holding the gateway address. Subnets are chosen from docker's pools,
/// skipping any that overlaps a route of the host or another network; the choice and the bridge are
/// made under a host-wide lock, so two daemons on one machine never take the same subnet.
/// </summary>
public sealed partial class NetworkStore
{
    /// <summary>The networks every daemon has and nobody can remove.</summary>
    public static readonly string[] Predefined = ["bridge", "host", "none"];

    private readonly string _dir;
    private readonly Dictionary<string, NetworkRecord> _byId = new();
    private readonly object _lock = new();
    private const string HostLockPath = "/run/berth-networks.lock";

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")]
    private static partial Regex ValidName();

    public NetworkStore(string dataRoot)
    {
        _dir = Path.Combine(dataRoot, "networks");
        Directory.CreateDirectory(_dir);
        foreach (var f in Directory.EnumerateFiles(_dir, "*.json"))
        {
            try
            {
                var n = JsonSerializer.Deserialize(File.ReadAllBytes(f), NetworkJsonContext.Default.NetworkRecord);
                if (n is { Id.Length: 64 }) _byId[n.Id] = n;
            }
            catch (JsonException) { } // a torn file of a crash before the rename cannot happen (atomic write); anything else is not ours
        }
    }

    public IReadOnlyList<NetworkRecord> All { get { lock (_lock) return _byId.Values.OrderBy(n => n.Name, StringComparer.Ordinal).ToList(); } }

    /// <summary>By exact id, exact name, or unique id prefix, as docker looks networks up.</summary>
    public NetworkRecord? Find(string nameOrId)
    {
        lock (_lock)
        {
            if (_byId.TryGetValue(nameOrId, out var n)) return n;
            n = _byId.Values.FirstOrDefault(x => x.Name == nameOrId);
            if (n is not null) return n;
            var byPrefix = nameOrId.Length > 0 ? _byId.Values.Where(x => x.Id.StartsWith(nameOrId, StringComparison.Ordinal)).ToList() : [];
            return byPrefix.Count == 1 ? byPrefix[0] : null;
        }
    }

    /// <summary>Makes the bridges of every stored network exist again (after a reboot they are gone).</summary>
    public void RestoreBridges()
    {
        foreach (var n in All)
        {
            try { EnsureBridge(n); }
            catch (Berth.Linux.LinuxException e) { Console.Error.WriteLine($"berthd: network {n.Name}: cannot restore bridge {n.BridgeName}: {e.Message}"); }
        }
    }

    public NetworkRecord Create(NetworkSpec s)
    {
        if (string.IsNullOrEmpty(s.Name)) throw EngineException.BadRequest("network name is required");
        if (!ValidName().IsMatch(s.Name)) throw EngineException.BadRequest($"invalid network name \"{s.Name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        if (s.Driver is not (null or "" or "bridge"))
            throw EngineException.NotFound($"plugin \"{s.Driver}\" not found: berthd has only the bridge network driver");
        if (s.EnableIPv6) throw EngineException.BadRequest("IPv6 networks are not supported by berthd");
        if (Predefined.Contains(s.Name)) throw EngineException.Forbidden($"operation is not permitted on predefined {s.Name} network");
        Ipv4Subnet? wanted = s.Subnet is { Length: > 0 } ? Ipv4Subnet.Parse(s.Subnet) : null;
        uint? gateway = null;
        if (s.Gateway is { Length: > 0 })
        {
            if (wanted is null) throw EngineException.BadRequest("a gateway needs a subnet (--subnet)");
            if (!System.Net.IPAddress.TryParse(s.Gateway, out var g) || g.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                throw EngineException.BadRequest($"invalid gateway address: {s.Gateway}");
            gateway = Ipv4Subnet.ToUInt(g);
            if (!wanted.Value.Contains(gateway.Value) || gateway == wanted.Value.Network || gateway == wanted.Value.Broadcast)
                throw EngineException.BadRequest($"gateway {s.Gateway} is not a host address of subnet {wanted}");
        }

        using var hostLock = HostWideLock();
        lock (_lock)
        {
            if (_byId.Values.Any(n => n.Name == s.Name)) throw EngineException.Conflict($"network with name {s.Name} already exists");
            var taken = _byId.Values.Select(n => Ipv4Subnet.Parse(n.Subnet)).Concat(HostRoutes()).ToList();
            Ipv4Subnet subnet;
            if (wanted is { } w)
            {
                var clash = taken.FirstOrDefault(t => t.Overlaps(w), new Ipv4Subnet(0, 33));
                if (clash.Prefix != 33) throw EngineException.Forbidden($"invalid pool request: Pool overlaps with other one on this address space ({w} and {clash})");
                subnet = w;
            }
            else subnet = Ipv4Subnet.FirstFree(taken) ?? throw EngineException.Forbidden("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");

            var n = new NetworkRecord
            {
                Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
                Name = s.Name,
                Created = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
                Subnet = subnet.ToString(),
                Gateway = Ipv4Subnet.Format(gateway ?? subnet.FirstHost),
                Internal = s.Internal,
                Attachable = s.Attachable,
                Labels = s.Labels ?? new(),
                Options = s.Options ?? new(),
            };
            EnsureBridge(n);
            try { AtomicFile.Write(PathOf(n.Id), JsonSerializer.SerializeToUtf8Bytes(n, NetworkJsonContext.Default.NetworkRecord)); }
            catch
            {
                DeleteBridge(n);
                throw;
            }
            _byId[n.Id] = n;
            return n;
        }
    }

    /// <summary>Removes the network's record and bridge (the caller checked that no container is on it).</summary>
    public void Remove(NetworkRecord n)
    {
        lock (_lock)
        {
            File.Delete(PathOf(n.Id));
            _byId.Remove(n.Id);
        }
        DeleteBridge(n);
    }

    private string PathOf(string id) => Path.Combine(_dir, id + ".json");

    /// <summary>The network's bridge, made (again) if missing, with its gateway address, up.</summary>
    public static void EnsureBridge(NetworkRecord n)
    {
        var subnet = Ipv4Subnet.Parse(n.Subnet);
        using var nl = Netlink.Open();
        int index = nl.IndexOf(n.BridgeName);
        if (index == 0)
        {
            nl.AddBridge(n.BridgeName);
            index = nl.IndexOf(n.BridgeName);
        }
        nl.AddAddress(index, System.Net.IPAddress.Parse(n.Gateway), subnet.Prefix);
        nl.SetUp(index);
    }

    private static void DeleteBridge(NetworkRecord n)
    {
        using var nl = Netlink.Open();
        nl.DeleteLink(n.BridgeName);
    }

    /// <summary>The host's IPv4 routes other than the default one (/proc/net/route: little-endian hex).</summary>
    private static IEnumerable<Ipv4Subnet> HostRoutes()
    {
        if (!File.Exists("/proc/net/route")) yield break;
        foreach (var line in File.ReadAllLines("/proc/net/route").Skip(1))
        {
            var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8 || !uint.TryParse(f[1], NumberStyles.HexNumber, null, out uint dst) || !uint.TryParse(f[7], NumberStyles.HexNumber, null, out uint mask)) continue;
            if (mask == 0) continue;
            uint d = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(dst), m = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(mask);
            int prefix = System.Numerics.BitOperations.PopCount(m);
            yield return new Ipv4Subnet(d & m, prefix);
        }
    }

    /// <summary>flock on a file of /run shared by every berthd of the machine (tests run several side by side).</summary>
    private static IDisposable HostWideLock()
    {
        int fd = Errno.Check(LibC.open(HostLockPath, O.RDWR | O.CREAT | O.CLOEXEC, 0x180), $"open {HostLockPath}");
        if (LibC.flock(fd, 2 /* LOCK_EX */) != 0) { int e = Errno.Last; LibC.close(fd); throw new Berth.Linux.LinuxException(e, $"lock {HostLockPath}"); }
        return new FdLock(fd);
    }

    private sealed class FdLock(int fd) : IDisposable
    {
        public void Dispose() => LibC.close(fd);
    }
}
