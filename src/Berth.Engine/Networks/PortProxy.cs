using System.Net;
using System.Net.Sockets;

namespace Berth.Engine.Networks;

/// <summary>A published TCP port (-p HOST:CONTAINER) as the record keeps it: the host port is the one actually bound.</summary>
public sealed class PortMapping
{
    public string HostIp { get; set; } = "0.0.0.0";
    public int HostPort { get; set; }
    public int ContainerPort { get; set; }
    public string Proto { get; set; } = "tcp";
}

/// <summary>
/// docker's userland proxy for one published port: a listener on the host; each connection is
/// answered by a connection to 127.0.0.1:PORT made from a socket of the container's own network
/// namespace, and bytes are copied both ways (half-closes passed on). So a published port works
/// for the default bridge (loopback only) as for user networks, with no NAT rules.
/// The listener is bound before the container starts (a taken port fails the start, as docker's);
/// connections are taken once <see cref="Serve"/> is called.
/// </summary>
public sealed class PortProxy : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    public PortMapping Mapping { get; }

    private PortProxy(Socket listener, PortMapping mapping)
    {
        _listener = listener;
        Mapping = mapping;
    }

    /// <summary>Binds HOSTIP:HOSTPORT (port 0: the kernel picks one, as docker's -P and -p CONTAINERPORT do).</summary>
    public static PortProxy Bind(string hostIp, int hostPort, int containerPort)
    {
        var ip = hostIp is "" or "0.0.0.0" ? IPAddress.Any : IPAddress.TryParse(hostIp, out var a) && a.AddressFamily == AddressFamily.InterNetwork ? a
            : throw EngineException.BadRequest($"invalid host IP for a published port: \"{hostIp}\" (IPv4 only)");
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR alone (a restart rebinds past TIME_WAIT); .NET's ReuseAddress adds SO_REUSEPORT,
            // which would let a second container take the same port.
            s.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
            s.Bind(new IPEndPoint(ip, hostPort));
            s.Listen(512);
        }
        catch (SocketException e)
        {
            s.Dispose();
            string why = e.SocketErrorCode == SocketError.AddressAlreadyInUse ? "port is already allocated" : e.Message;
            throw new EngineException(500, $"driver failed programming external connectivity: Bind for {ip}:{hostPort} failed: {why}");
        }
        int bound = ((IPEndPoint)s.LocalEndPoint!).Port;
        return new PortProxy(s, new PortMapping { HostIp = ip.ToString(), HostPort = bound, ContainerPort = containerPort });
    }

    /// <summary>Starts taking connections; <paramref name="netns"/> gives the container's namespace path at each one.</summary>
    public void Serve(Func<string> netns) => _ = AcceptLoop(netns);

    private async Task AcceptLoop(Func<string> netns)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception) { return; } // disposed
            _ = Relay(client, netns);
        }
    }

    private async Task Relay(Socket client, Func<string> netns)
    {
        Socket? inside = null;
        try
        {
            int fd = Berth.Linux.Net.NetNamespace.Socket(netns(), 2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
            inside = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
            await inside.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Mapping.ContainerPort), _stop.Token);
            await Task.WhenAll(Copy(client, inside), Copy(inside, client));
        }
        catch (Exception) { } // refused inside, the container gone, or the proxy stopped: the client sees the close
        finally
        {
            client.Dispose();
            inside?.Dispose();
        }
    }

    private async Task Copy(Socket from, Socket to)
    {
        var buf = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buf, SocketFlags.None, _stop.Token);
                if (n == 0) break;
                for (int sent = 0; sent < n;) sent += await to.SendAsync(buf.AsMemory(sent, n - sent), SocketFlags.None, _stop.Token);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // one side failed: end both directions
            try { from.Shutdown(SocketShutdown.Both); } catch (Exception) { }
            try { to.Shutdown(SocketShutdown.Both); } catch (Exception) { }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
    }
}
