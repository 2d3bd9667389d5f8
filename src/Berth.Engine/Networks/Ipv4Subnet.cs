using System.Buffers.Binary;
using System.Globalization;
using System.Net;

namespace Berth.Engine.Networks;

/// <summary>An IPv4 subnet (network address and prefix length) and the address arithmetic IPAM needs.</summary>
public readonly record struct Ipv4Subnet(uint Network, int Prefix)
{
    public uint Mask => Prefix == 0 ? 0 : uint.MaxValue << (32 - Prefix);
    public uint Broadcast => Network | ~Mask;

    /// <summary>"A.B.C.D/N"; the host bits must be zero as docker requires ("invalid subnet" otherwise).</summary>
    public static Ipv4Subnet Parse(string cidr)
    {
        int slash = cidr.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(cidr[..slash], out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(cidr[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int prefix) || prefix > 32)
            throw EngineException.BadRequest($"invalid CIDR address: {cidr}");
        var s = new Ipv4Subnet(ToUInt(ip), prefix);
        if ((s.Network & ~s.Mask) != 0)
            throw EngineException.BadRequest($"invalid subnet {cidr}: it has host bits set (the network is {new Ipv4Subnet(s.Network & s.Mask, prefix)})");
        if (prefix > 30) throw EngineException.BadRequest($"invalid subnet {cidr}: a /{prefix} leaves no room for a gateway and a container");
        return s;
    }

    public bool Contains(uint address) => (address & Mask) == Network;

    public bool Overlaps(Ipv4Subnet other)
    {
        int p = Math.Min(Prefix, other.Prefix);
        uint m = p == 0 ? 0 : uint.MaxValue << (32 - p);
        return (Network & m) == (other.Network & m);
    }

    /// <summary>The first usable address (docker's default gateway).</summary>
    public uint FirstHost => Network + 1;

    public override string ToString() => $"{Format(Network)}/{Prefix}";

    public static uint ToUInt(IPAddress ip) => BinaryPrimitives.ReadUInt32BigEndian(ip.GetAddressBytes());

    public static string Format(uint a) => $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}";

    public static IPAddress ToAddress(uint a) => IPAddress.Parse(Format(a));

    /// <summary>docker's MAC for an address: 02:42 and the address's four bytes.</summary>
    public static byte[] MacOf(uint a) => [0x02, 0x42, (byte)(a >> 24), (byte)(a >> 16), (byte)(a >> 8), (byte)a];

    public static string FormatMac(byte[] mac) => string.Join(':', mac.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    /// <summary>
    /// The pools docker hands out to networks without --subnet, in its order: 172.18-31.0.0/16
    /// (172.17 is the default bridge's), then 192.168.0-240.0/20.
    /// </summary>
    public static IEnumerable<Ipv4Subnet> DefaultPools()
    {
        for (uint b = 18; b <= 31; b++) yield return new Ipv4Subnet((172u << 24) | (b << 16), 16);
        for (uint c = 0; c <= 240; c += 16) yield return new Ipv4Subnet((192u << 24) | (168u << 16) | (c << 8), 20);
    }

    /// <summary>The first pool that overlaps none of <paramref name="taken"/>, or null when all are used.</summary>
    public static Ipv4Subnet? FirstFree(IEnumerable<Ipv4Subnet> taken)
    {
        var t = taken.ToList();
        foreach (var p in DefaultPools())
            if (!t.Any(x => x.Overlaps(p))) return p;
        return null;
    }

    /// <summary>The lowest host address that is neither the gateway nor in <paramref name="used"/>, or null when the subnet is full.</summary>
    public uint? FirstFreeHost(uint gateway, ISet<uint> used)
    {
        for (uint a = Network + 1; a < Broadcast; a++)
            if (a != gateway && !used.Contains(a)) return a;
        return null;
    }
}
