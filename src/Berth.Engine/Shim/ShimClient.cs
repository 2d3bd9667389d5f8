using System.Net.Sockets;
using System.Text;

namespace Berth.Engine.Shim;

/// <summary>berthd's side of the shim protocol (see <see cref="ShimProtocol"/>).</summary>
public sealed class ShimClient(string socketPath)
{
    public string SocketPath { get; } = socketPath;

    public async Task<Socket> ConnectAsync(string request, CancellationToken ct = default)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await s.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), ct);
            await s.SendAsync(Encoding.UTF8.GetBytes(request + "\n"), SocketFlags.None, ct);
            return s;
        }
        catch { s.Dispose(); throw; }
    }

    /// <summary>Sends a one-line request and returns the one-line answer.</summary>
    public async Task<string> RequestAsync(string request, CancellationToken ct = default)
    {
        using var s = await ConnectAsync(request, ct);
        return await ReadLineAsync(s, ct) ?? throw new IOException("the shim closed the connection");
    }

    public bool Alive()
    {
        try { return RequestAsync("STATE").Wait(2000); }
        catch (Exception) { return false; }
    }

    public static async Task<string?> ReadLineAsync(Socket s, CancellationToken ct = default)
    {
        var bytes = new List<byte>();
        var b = new byte[1];
        while (true)
        {
            int n = await s.ReceiveAsync(b, SocketFlags.None, ct);
            if (n == 0) return bytes.Count == 0 ? null : Encoding.UTF8.GetString(bytes.ToArray());
            if (b[0] == '\n') return Encoding.UTF8.GetString(bytes.ToArray());
            bytes.Add(b[0]);
        }
    }

    /// <summary>Reads one frame; null at end of stream.</summary>
    public static async Task<(byte Kind, byte[] Data)?> ReadFrameAsync(Stream s, CancellationToken ct = default)
    {
        var h = new byte[8];
        try { await s.ReadExactlyAsync(h, ct); }
        catch (EndOfStreamException) { return null; }
        int len = ShimProtocol.ReadLength(h);
        var data = new byte[len];
        if (len > 0) await s.ReadExactlyAsync(data, ct);
        return (h[0], data);
    }

    public static byte[] Frame(byte kind, ReadOnlySpan<byte> data)
    {
        var f = new byte[8 + data.Length];
        ShimProtocol.WriteHeader(f, kind, data.Length);
        data.CopyTo(f.AsSpan(8));
        return f;
    }
}
