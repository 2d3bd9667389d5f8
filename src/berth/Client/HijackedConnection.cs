using System.Net.Sockets;

namespace Berth.Cli.Client;

/// <summary>
/// The raw socket of an attach or exec start after the daemon's 101: bytes both ways, the bytes
/// that arrived with the response head read first. <see cref="CloseWrite"/> half-closes (docker's
/// CLI does so when it has no more stdin; the daemon keeps sending output until the process ends).
/// </summary>
public sealed class HijackedConnection : IDisposable
{
    private readonly Socket _socket;
    private byte[] _pending;
    private int _pendingAt;

    public bool Upgraded { get; }

    internal HijackedConnection(Socket socket, byte[] leftover, bool upgraded)
    {
        _socket = socket;
        _pending = leftover;
        Upgraded = upgraded;
    }

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (_pendingAt < _pending.Length)
        {
            int n = Math.Min(buffer.Length, _pending.Length - _pendingAt);
            _pending.AsMemory(_pendingAt, n).CopyTo(buffer);
            _pendingAt += n;
            return n;
        }
        try { return await _socket.ReceiveAsync(buffer, SocketFlags.None, ct); }
        catch (SocketException) { return 0; }
        catch (ObjectDisposedException) { return 0; }
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes; false at a clean end of stream before the first byte.</summary>
    public async ValueTask<bool> ReadExactlyAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = await ReadAsync(buffer[got..], ct);
            if (n == 0)
            {
                if (got == 0) return false;
                throw new IOException("the stream ended inside a frame");
            }
            got += n;
        }
        return true;
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        while (data.Length > 0)
        {
            int n = await _socket.SendAsync(data, SocketFlags.None, ct);
            data = data[n..];
        }
    }

    public void CloseWrite()
    {
        try { _socket.Shutdown(SocketShutdown.Send); }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    public void Dispose() => _socket.Dispose();
}
