using Berth.Engine.Networks;

namespace Berth.Engine.Tests;

/// <summary>The address arithmetic behind network create and connect (pure logic).</summary>
public sealed class Ipv4SubnetTests
{
    [Theory]
    [InlineData("10.1.2.0/24", "10.1.2.0/24", 0x0A010200u, 24)]
    [InlineData("172.18.0.0/16", "172.18.0.0/16", 0xAC120000u, 16)]
    public void A_subnet_parses_and_prints_back(string text, string shown, uint network, int prefix)
    {
        var s = Ipv4Subnet.Parse(text);
        Assert.Equal(network, s.Network);
        Assert.Equal(prefix, s.Prefix);
        Assert.Equal(shown, s.ToString());
    }

    [Theory]
    [InlineData("10.1.2.3/24", "host bits set")]
    [InlineData("10.1.2.0", "invalid CIDR")]
    [InlineData("10.1.2.0/33", "invalid CIDR")]
    [InlineData("fd00::/64", "invalid CIDR")]
    [InlineData("10.1.2.0/31", "leaves no room")]
    [InlineData("ten.1.2.0/24", "invalid CIDR")]
    public void Bad_subnets_are_refused_with_the_reason(string text, string reason)
    {
        var e = Assert.Throws<EngineException>(() => Ipv4Subnet.Parse(text));
        Assert.Equal(400, e.Status);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Overlap_is_symmetric_and_exact()
    {
        var a = Ipv4Subnet.Parse("10.0.0.0/16");
        Assert.True(a.Overlaps(Ipv4Subnet.Parse("10.0.5.0/24")));
        Assert.True(Ipv4Subnet.Parse("10.0.5.0/24").Overlaps(a));
        Assert.False(a.Overlaps(Ipv4Subnet.Parse("10.1.0.0/16")));
        Assert.True(Ipv4Subnet.Parse("0.0.0.0/0").Overlaps(a));
    }

    [Fact]
    public void Free_pools_follow_dockers_order_and_skip_what_is_taken()
    {
        Assert.Equal("172.18.0.0/16", Ipv4Subnet.FirstFree([])!.Value.ToString());
        Assert.Equal("172.20.0.0/16", Ipv4Subnet.FirstFree([Ipv4Subnet.Parse("172.18.0.0/16"), Ipv4Subnet.Parse("172.19.3.0/24")])!.Value.ToString());
        var all172 = Enumerable.Range(18, 14).Select(b => Ipv4Subnet.Parse($"172.{b}.0.0/16"));
        Assert.Equal("192.168.16.0/20", Ipv4Subnet.FirstFree(all172.Append(Ipv4Subnet.Parse("192.168.1.0/24")))!.Value.ToString());
        Assert.Null(Ipv4Subnet.FirstFree([Ipv4Subnet.Parse("0.0.0.0/0")]));
    }

    [Fact]
    public void Hosts_are_handed_out_lowest_first_around_the_gateway_until_the_subnet_is_full()
    {
        var s = Ipv4Subnet.Parse("10.9.9.0/30"); // .1 and .2 are its only hosts
        uint gw = s.FirstHost;
        Assert.Equal("10.9.9.2", Ipv4Subnet.Format(s.FirstFreeHost(gw, new HashSet<uint>())!.Value));
        Assert.Null(s.FirstFreeHost(gw, new HashSet<uint> { s.Network + 2 }));
        Assert.Equal("10.9.9.1", Ipv4Subnet.Format(s.FirstFreeHost(s.Network + 2, new HashSet<uint>())!.Value));
        Assert.Equal("02:42:0a:09:09:02", Ipv4Subnet.FormatMac(Ipv4Subnet.MacOf(s.Network + 2)));
    }
}
