using System.Diagnostics;
using System.Net;
using Berth.Linux.Interop;
using Berth.Linux.Net;

namespace Berth.Linux.Tests.Net;

/// <summary>
/// A bridge on the host, a veth pair into a named network namespace, addresses and a route, made
/// through Berth's own netlink requests and checked with iproute2 and a ping across the pair.
/// Everything stays on a private 10.x subnet between the host and the namespace.
/// </summary>
public sealed class NetlinkTests : IDisposable
{
    private readonly string _tag = Guid.NewGuid().ToString("N")[..6];
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-netns-").FullName;
    private string Bridge => "bt" + _tag;
    private string Veth => "vt" + _tag;
    private string Ns => Path.Combine(_dir, "ns");

    public void Dispose()
    {
        using (var nl = Netlink.Open())
        {
            nl.DeleteLink(Veth);
            nl.DeleteLink(Bridge);
        }
        NetNamespace.Delete(Ns);
        Directory.Delete(_dir, true);
    }

    private static (int Code, string Out) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string o = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o);
    }

    [Fact]
    public void A_namespace_joined_to_a_bridge_by_a_veth_pair_reaches_the_gateway()
    {
        NetNamespace.Create(Ns);
        using (var host = Netlink.Open())
        {
            host.AddBridge(Bridge);
            int br = host.IndexOf(Bridge);
            Assert.True(br > 0);
            host.AddAddress(br, IPAddress.Parse("10.213.7.1"), 24);
            host.SetUp(br);
            int nsFd = Errno.Check(LibC.open(Ns, O.RDONLY | O.CLOEXEC, 0), "open ns");
            try { host.AddVethPair(Veth, "eth0", nsFd, [0x02, 0x42, 10, 213, 7, 2]); }
            finally { LibC.close(nsFd); }
            host.SetMasterAndUp(host.IndexOf(Veth), br);
            Assert.Equal(0, host.IndexOf("eth0-absent"));
        }
        using (var inside = Netlink.OpenIn(Ns))
        {
            int eth0 = inside.IndexOf("eth0");
            Assert.True(eth0 > 0, "eth0 is in the namespace");
            inside.AddAddress(eth0, IPAddress.Parse("10.213.7.2"), 24);
            inside.SetUp(eth0);
            inside.AddDefaultRoute(IPAddress.Parse("10.213.7.1"), eth0);
            var dup = Assert.Throws<LinuxException>(() => inside.AddDefaultRoute(IPAddress.Parse("10.213.7.1"), eth0));
            Assert.Contains("default route", dup.Message);
        }

        var addr = Run("nsenter", "--net=" + Ns, "ip", "-o", "addr", "show", "dev", "eth0");
        Assert.Contains("10.213.7.2/24", addr.Out);
        Assert.Contains("link/ether 02:42:0a:d5:07:02", Run("nsenter", "--net=" + Ns, "ip", "-o", "link", "show", "dev", "eth0").Out);
        Assert.Contains("default via 10.213.7.1 dev eth0", Run("nsenter", "--net=" + Ns, "ip", "route").Out);
        Assert.Contains("state UP", Run("nsenter", "--net=" + Ns, "ip", "-o", "link", "show", "dev", "lo").Out.Replace("state UNKNOWN", "state UP"));
        Assert.Contains($"master {Bridge}", Run("ip", "-o", "link", "show", "dev", Veth).Out);
        var ping = Run("nsenter", "--net=" + Ns, "busybox", "ping", "-c", "1", "-W", "5", "10.213.7.1");
        Assert.True(ping.Code == 0, ping.Out);

        // The namespace is gone with its pin; the host side of the pair goes with it.
        using var nl = Netlink.Open();
        Assert.True(nl.DeleteLink(Veth));
        Assert.False(nl.DeleteLink(Veth));
    }

    [Fact]
    public void Bad_names_and_missing_links_get_clear_errors()
    {
        using var nl = Netlink.Open();
        Assert.Throws<ArgumentException>(() => nl.AddBridge("a-name-that-is-too-long"));
        Assert.False(nl.DeleteLink("bx" + _tag));
        var e = Assert.Throws<LinuxException>(() => nl.SetUp(987654));
        Assert.Contains("set link 987654 up", e.Message);
    }
}
