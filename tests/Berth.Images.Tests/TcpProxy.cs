using System.Net;
using System.Net.Sockets;

namespace Berth.Images.Tests;

/// <summary>
/// A TCP forwarder on 127.0.0.1 in front of a real server, that can misbehave the way networks do:
/// cut a connection after some bytes of response (a dropped download), or go slowly.
/// </summary>
public sealed class TcpProxy : IDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _cts = new();
    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";

    /// <summary>Connections still to be cut once they have sent this many response bytes.</summary>
    public int CutsRemaining;
    public long CutAfterBytes = long.MaxValue;
    public int Cuts;
    /// <summary>Response bytes per second (0: no limit).</summary>
    public int BytesPerSecond;
    /// <summary>When set, connections are accepted and closed at once (a registry that hangs up).</summary>
    public bool RefuseAll;

    public TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(AcceptLoop);
    }

    private async Task AcceptLoop()
    {
        while (!_cts.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_cts.Token); }
            catch (Exception) { return; }
            if (RefuseAll) { client.Client.Close(0); client.Dispose(); continue; }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _cts.Token);
                var c = client.GetStream();
                var s = server.GetStream();
                var up = c.CopyToAsync(s, _cts.Token);
                var down = Down(s, c);
                await Task.WhenAny(up, down);
            }
            catch (Exception) { }
        }
    }

    private async Task Down(NetworkStream from, NetworkStream to)
    {
        var buf = new byte[16384];
        long sent = 0;
        var started = DateTime.UtcNow;
        while (true)
        {
            int n = await from.ReadAsync(buf, _cts.Token);
            if (n == 0) return;
            if (sent + n > CutAfterBytes && Interlocked.Decrement(ref CutsRemaining) >= 0)
            {
                await to.WriteAsync(buf.AsMemory(0, (int)Math.Max(0, CutAfterBytes - sent)), _cts.Token);
                Interlocked.Increment(ref Cuts);
                to.Socket.Close(0); // reset: the client sees the download break
                return;
            }
            await to.WriteAsync(buf.AsMemory(0, n), _cts.Token);
            sent += n;
            if (BytesPerSecond > 0)
            {
                var due = started + TimeSpan.FromSeconds((double)sent / BytesPerSecond);
                var wait = due - DateTime.UtcNow;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, _cts.Token);
            }
        }
    }

    public void Dispose()
    {
        _cts.Cancel();
        _listener.Stop();
    }
}

/// <summary>An HTTP server on 127.0.0.1 that answers like a broken registry would, for the bad-input tests.</summary>
public sealed class FakeRegistry : IDisposable
{
    private readonly HttpListener _listener;
    private readonly Func<HttpListenerRequest, (int Status, string? ContentType, byte[] Body)> _handler;
    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";

    public FakeRegistry(Func<HttpListenerRequest, (int, string?, byte[])> handler)
    {
        _handler = handler;
        (_listener, Port) = RegistryServer.StartListener();
        _ = Task.Run(Loop);
    }

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            try
            {
                var (status, type, body) = _handler(ctx.Request);
                ctx.Response.StatusCode = status;
                if (type is not null) ctx.Response.ContentType = type;
                ctx.Response.OutputStream.Write(body);
            }
            catch (Exception) { ctx.Response.StatusCode = 599; }
            finally { try { ctx.Response.Close(); } catch (Exception) { } }
        }
    }

    public void Dispose()
    {
        // Close alone: after Stop, the managed HttpListener's Close looks its endpoint up again and,
        // not finding it, binds the port anew; another test may hold that port by then (EADDRINUSE).
        _listener.Close();
    }
}
