using System.Diagnostics;

namespace Berth.Engine.Tests;

/// <summary>
/// User-defined bridge networks through the real docker CLI and docker-compose against berthd:
/// real bridges, veth pairs and network namespaces, traffic between containers by name and alias,
/// and nothing left on the host after stop, rm and network rm.
/// </summary>
[Collection("daemon")]
public sealed class NetworkTests(DaemonFixture d) : IDisposable
{
    private readonly List<string> _containers = [];
    private readonly List<string> _networks = [];

    private string Name(string prefix = "c")
    {
        string n = prefix + Guid.NewGuid().ToString("N")[..10];
        (prefix == "n" ? _networks : _containers).Add(n);
        return n;
    }

    public void Dispose()
    {
        foreach (var c in _containers) d.Docker("rm", "-f", c);
        foreach (var n in _networks) d.Docker("network", "rm", n);
    }

    private static void Ok((int Code, string Stdout, string Stderr) r) => Assert.True(r.Code == 0, $"exit {r.Code}: {r.Stderr}");

    private static string Sh(string script)
    {
        var psi = new ProcessStartInfo("sh", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return o;
    }

    private string NetworkId(string n) => d.Docker("network", "inspect", n, "--format", "{{.Id}}").Stdout.Trim();

    /// <summary>The host ends of veth pairs enslaved to a network's bridge.</summary>
    private static string Ports(string networkId) => Sh($"ip -o link show master br-{networkId[..12]} 2>/dev/null");

    private string NetnsMounts() => string.Join('\n', File.ReadAllLines("/proc/self/mountinfo").Where(l => l.Contains(d.Root) && l.Contains("/netns ")));

    [Fact]
    public void Containers_on_a_user_network_reach_each_other_by_name_and_alias_and_leave_nothing_behind()
    {
        string net = Name("n"), web = Name(), client = Name();
        Ok(d.Docker("network", "create", "--label", "team=t1", net));
        string id = NetworkId(net);
        Assert.Equal(64, id.Length);
        Assert.Contains($"br-{id[..12]}", Sh($"ip -o link show br-{id[..12]}"));
        var subnet = d.Docker("network", "inspect", net, "--format", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}|{{.Driver}}|{{index .Labels \"team\"}}");
        Assert.Matches(@"^\d+\.\d+\.0\.0/\d+ \d+\.\d+\.0\.1\|bridge\|t1$", subnet.Stdout.Trim());

        Ok(d.Docker("run", "-d", "--name", web, "--network", net, "--network-alias", "www", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"));
        string ip = d.Docker("inspect", web, "--format", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}").Stdout.Trim();
        string gw = subnet.Stdout.Split(' ', '|')[1];
        Assert.Equal(gw[..^1] + "2", ip);
        Assert.Equal("02:42:" + string.Join(':', ip.Split('.').Select(b => int.Parse(b).ToString("x2"))),
            d.Docker("inspect", web, "--format", $"{{{{(index .NetworkSettings.Networks \"{net}\").MacAddress}}}}").Stdout.Trim());
        Assert.Contains(web, d.Docker("network", "inspect", net, "--format", "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}").Stdout);

        var reach = d.Docker("run", "--name", client, "--network", net, "busybox", "sh", "-c",
            $"wget -q -O- http://{web}/passwd | head -1; wget -q -O- http://www/hostname; ip -o -4 addr show eth0; ip route; ping -c 1 -W 5 {gw} >/dev/null && echo gateway-ok");
        Ok(reach);
        Assert.Contains("root:x:0:0", reach.Stdout);
        Assert.True(reach.Stdout.Contains(d.Docker("inspect", web, "--format", "{{.Id}}").Stdout.Trim()[..12]), reach.Stdout + reach.Stderr); // web's hostname, read over HTTP
        Assert.Contains($"inet {gw[..^1]}3/", reach.Stdout);
        Assert.Contains($"default via {gw} dev eth0", reach.Stdout);
        Assert.Contains("gateway-ok", reach.Stdout);

        // In use: the network stays; the refusal names the container.
        var busy = d.Docker("network", "rm", net);
        Assert.NotEqual(0, busy.Code);
        Assert.Contains("has active endpoints", busy.Stderr);
        Assert.NotEqual("", Ports(id).Trim()); // web's pair is on the bridge (the client's left with it)
        Assert.Single(Ports(id).Split('\n', StringSplitOptions.RemoveEmptyEntries));

        Ok(d.Docker("stop", "-t", "0", web));
        Assert.Equal("", Ports(id).Trim());
        Assert.Equal("", NetnsMounts());
        // Its address is kept while it is stopped and it comes back on start.
        Ok(d.Docker("start", web));
        Assert.Equal(ip, d.Docker("inspect", web, "--format", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}").Stdout.Trim());
        Ok(d.Docker("rm", "-f", web, client));
        Assert.Equal("", Ports(id).Trim());
        Assert.Equal("", NetnsMounts());
        Ok(d.Docker("network", "rm", net));
        Assert.Equal("", Sh($"ip -o link show br-{id[..12]} 2>/dev/null").Trim());
        Assert.DoesNotContain(net, d.Docker("network", "ls", "--format", "{{.Name}}").Stdout);
    }

    [Fact]
    public void Containers_created_side_by_side_on_a_network_get_different_addresses()
    {
        string net = Name("n");
        Ok(d.Docker("network", "create", net));
        var names = Enumerable.Range(0, 6).Select(_ => Name()).ToList();
        var created = names.AsParallel().WithDegreeOfParallelism(6).Select(n => d.Docker("create", "--name", n, "--network", net, "busybox", "true")).ToList();
        foreach (var c in created) Ok(c);
        var ips = names.Select(n => d.Docker("inspect", n, "--format", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}").Stdout.Trim()).ToList();
        Assert.All(ips, ip => Assert.Matches(@"^\d+\.\d+\.\d+\.\d+$", ip));
        Assert.Equal(6, ips.Distinct().Count());
    }

    [Fact]
    public void The_embedded_dns_server_answers_for_running_peers_only()
    {
        string net = Name("n"), db = Name();
        Ok(d.Docker("network", "create", net));
        Ok(d.Docker("run", "-d", "--name", db, "--network", net, "--network-alias", "database", "busybox", "sleep", "1000"));
        string ip = d.Docker("inspect", db, "--format", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}").Stdout.Trim();
        var asked = d.Docker("run", "--rm", "--network", net, "busybox", "sh", "-c", $"cat /etc/resolv.conf; nslookup {db}; nslookup database");
        Ok(asked);
        Assert.StartsWith("nameserver 127.0.0.11\noptions ndots:0\n", asked.Stdout);
        Assert.Equal(2, asked.Stdout.Split('\n').Count(l => l == $"Address: {ip}"));
        Assert.NotEqual(0, d.Docker("run", "--rm", "--network", net, "busybox", "nslookup", "no-such-peer-" + db).Code);

        Ok(d.Docker("stop", "-t", "0", db));
        var gone = d.Docker("run", "--rm", "--network", net, "busybox", "nslookup", "database");
        Assert.NotEqual(0, gone.Code);
        Assert.DoesNotContain($"Address: {ip}", gone.Stdout);
    }

    [Fact]
    public void A_running_container_is_connected_and_disconnected_and_peers_see_its_alias()
    {
        string net = Name("n"), srv = Name();
        Ok(d.Docker("network", "create", net));
        string id = NetworkId(net);
        Ok(d.Docker("run", "-d", "--name", srv, "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"));
        Ok(d.Docker("network", "connect", "--alias", "late", net, srv));
        Assert.Single(Ports(id).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var seen = d.Docker("run", "--rm", "--network", net, "busybox", "wget", "-q", "-O-", "http://late/group");
        Ok(seen);
        Assert.Contains("root:x:0:", seen.Stdout);
        var again = d.Docker("network", "connect", net, srv);
        Assert.NotEqual(0, again.Code);
        Assert.Contains("already exists in network", again.Stderr);

        Ok(d.Docker("network", "disconnect", net, srv));
        Assert.Equal("", Ports(id).Trim());
        var gone = d.Docker("run", "--rm", "--network", net, "busybox", "wget", "-q", "-T", "2", "-O-", "http://late/group");
        Assert.NotEqual(0, gone.Code);
        var notOn = d.Docker("network", "disconnect", net, srv);
        Assert.NotEqual(0, notOn.Code);
        Assert.Contains("is not connected to network", notOn.Stderr);
    }

    [Fact]
    public void Subnets_addresses_and_bad_requests_get_docker_answers()
    {
        int third = Random.Shared.Next(1, 250);
        string net = Name("n"), other = Name("n"), c = Name();
        Ok(d.Docker("network", "create", "--subnet", $"10.214.{third}.0/24", "--gateway", $"10.214.{third}.254", net));
        var pinned = d.Docker("run", "--rm", "--network", net, "--ip", $"10.214.{third}.77", "busybox", "sh", "-c", "ip -o -4 addr show eth0; ip route");
        Ok(pinned);
        Assert.Contains($"10.214.{third}.77/24", pinned.Stdout);
        Assert.Contains($"default via 10.214.{third}.254", pinned.Stdout);

        var overlap = d.Docker("network", "create", "--subnet", $"10.214.{third}.0/25", other);
        Assert.NotEqual(0, overlap.Code);
        Assert.Contains("overlaps", overlap.Stderr);
        var hostBits = d.Docker("network", "create", "--subnet", $"10.214.{third}.9/24", other);
        Assert.Contains("host bits set", hostBits.Stderr);
        Assert.Contains("not found", d.Docker("network", "create", "-d", "overlay", other).Stderr);
        Assert.Contains("already exists", d.Docker("network", "create", net).Stderr);
        Assert.Contains("pre-defined network", d.Docker("network", "rm", "bridge").Stderr);
        Assert.DoesNotContain(other, d.Docker("network", "ls", "--format", "{{.Name}}").Stdout);

        var outside = d.Docker("run", "--rm", "--network", net, "--ip", "10.215.0.5", "busybox", "true");
        Assert.NotEqual(0, outside.Code);
        Assert.Contains("is not a free host address", outside.Stderr);
        var missing = d.Docker("run", "--name", c, "--network", "no-such-net", "busybox", "true");
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("network no-such-net not found", missing.Stderr);
        Assert.DoesNotContain("Unable to find image", missing.Stderr);
        Assert.NotEqual(0, d.Docker("inspect", c).Code); // no container was made
    }

    private static string HttpGet(int port, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return http.GetStringAsync($"http://127.0.0.1:{port}{path}").Result;
    }

    [Fact]
    public void Published_ports_reach_the_container_on_the_default_bridge_and_on_a_user_network_and_close_at_stop()
    {
        string a = Name(), b = Name(), taken = Name(), net = Name("n");
        Ok(d.Docker("run", "-d", "--name", a, "-p", "127.0.0.1::80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"));
        var port = d.Docker("port", a, "80");
        Ok(port);
        Assert.Matches(@"^127\.0\.0\.1:\d+$", port.Stdout.Trim());
        int hostPort = int.Parse(port.Stdout.Trim().Split(':')[1]);
        Assert.StartsWith("root:x:0:0", HttpGet(hostPort, "/passwd"));
        Assert.Contains($"127.0.0.1:{hostPort}->80/tcp", d.Docker("ps", "--filter", "name=" + a, "--format", "{{.Ports}}").Stdout);

        // The same host port again: the start fails as docker's does, and nothing of the second container runs.
        var clash = d.Docker("run", "-d", "--name", taken, "-p", $"127.0.0.1:{hostPort}:80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc");
        Assert.NotEqual(0, clash.Code);
        Assert.Contains("port is already allocated", clash.Stderr);
        Assert.Equal("created", d.Docker("inspect", taken, "--format", "{{.State.Status}}").Stdout.Trim());

        Ok(d.Docker("stop", "-t", "0", a));
        Assert.ThrowsAny<Exception>(() => HttpGet(hostPort, "/passwd"));
        Assert.Equal("", d.Docker("port", a).Stdout.Trim());

        // A container on a user network, -P with its exposed port.
        Ok(d.Docker("network", "create", net));
        Ok(d.Docker("run", "-d", "--name", b, "--network", net, "--expose", "80", "-P", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"));
        int pb = int.Parse(d.Docker("port", b, "80").Stdout.Split('\n')[0].Trim().Split(':')[1]);
        Assert.StartsWith("root:x:0:0", HttpGet(pb, "/passwd"));

        var bad = d.Docker("run", "--rm", "-p", "127.0.0.1:99999:80", "busybox", "true");
        Assert.NotEqual(0, bad.Code);
    }

    [Fact]
    public void Docker_compose_brings_up_services_that_find_each_other_and_takes_the_network_down()
    {
        string project = "p" + Guid.NewGuid().ToString("N")[..8];
        string dir = Path.Combine(d.Root, project);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "docker-compose.yml"), """
            version: "3.8"
            services:
              web:
                image: busybox
                command: httpd -f -p 80 -h /etc
              client:
                image: busybox
                depends_on: [web]
                command: sh -c 'for i in $$(seq 100); do wget -q -O- http://web/passwd && break; sleep 0.1; done; echo client-done'
            """);
        try
        {
            var up = d.Compose(dir, project, "up", "-d");
            Assert.True(up.Code == 0, up.Output);
            string netId = NetworkId(project + "_default");
            Assert.Equal(64, netId.Length);
            var wait = d.Docker("wait", project + "_client_1");
            Ok(wait);
            Assert.Equal("0", wait.Stdout.Trim());
            var logs = d.Docker("logs", project + "_client_1");
            Assert.Contains("root:x:0:0", logs.Stdout);
            Assert.Contains("client-done", logs.Stdout);

            var down = d.Compose(dir, project, "down");
            Assert.True(down.Code == 0, down.Output);
            Assert.NotEqual(0, d.Docker("network", "inspect", project + "_default").Code);
            Assert.Equal("", Sh($"ip -o link show br-{netId[..12]} 2>/dev/null").Trim());
            Assert.Equal("", d.Docker("ps", "-aq", "--filter", "label=com.docker.compose.project=" + project).Stdout.Trim());
        }
        finally { d.Compose(dir, project, "down"); }
    }
}
